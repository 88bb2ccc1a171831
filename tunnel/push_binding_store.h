// Where a contact id's push binding lives: SHA-256 of the secret the phone presented the
// first time it registered (docs/tunnel.md, "Push channel"). A node alone keeps them in
// memory; nodes behind one HAProxy share them (Redis) so that when the hash ring changes
// (a node dies, drains or joins) the node a contact id moves to still demands the secret
// the phone bound before, instead of letting whoever asks first take the id over.
//
// The registry calls the store only when it has no registration of its own for the id
// (the first /push of a contact id on this node, and a /contact for an id this node has
// not seen), so a store round trip is paid once per contact id per node, not per request.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/primitives.h"

namespace hybrid::tunnel {

class PushBindingStore {
 public:
  virtual ~PushBindingStore() = default;
  // Binds `secret_hash` to `contact_id` if nothing is bound yet (atomically across every
  // node sharing the store), and returns whatever is bound afterwards: `secret_hash`
  // itself, or the earlier binding (then the caller must refuse with 403). Refreshes the
  // binding's lifetime. An error means the store could not be asked (answer 503).
  virtual Result<crypto::Sha256Digest> bind_if_absent(ByteView contact_id, const crypto::Sha256Digest& secret_hash) = 0;
  // The binding, if any.
  virtual Result<std::optional<crypto::Sha256Digest>> lookup(ByteView contact_id) = 0;
  // For logs and docs: "memory" or "redis://host:port".
  virtual std::string describe() const = 0;
};

// The default: this node's memory. At most `capacity` bindings (the oldest is forgotten
// first), each kept for `lifetime` after it was last bound or confirmed.
class InMemoryPushBindingStore final : public PushBindingStore {
 public:
  using Clock = std::chrono::steady_clock;
  InMemoryPushBindingStore(size_t capacity, std::chrono::seconds lifetime);
  Result<crypto::Sha256Digest> bind_if_absent(ByteView contact_id, const crypto::Sha256Digest& secret_hash) override;
  Result<std::optional<crypto::Sha256Digest>> lookup(ByteView contact_id) override;
  std::string describe() const override { return "memory"; }
  size_t size() const { return bindings_.size(); }

 private:
  struct Entry {
    crypto::Sha256Digest hash;
    Clock::time_point expires;
  };
  void forget_expired(Clock::time_point now);
  size_t capacity_;
  std::chrono::seconds lifetime_;
  std::unordered_map<std::string, Entry> bindings_;
  std::deque<std::string> order_;  // insertion order, for eviction (may hold stale keys)
};

// Redis (Debian's redis-server), spoken as RESP over one TCP connection: SET key value NX
// EX lifetime, then GET. Each call waits at most `timeout` (it runs on the node's service
// thread, so keep Redis close: same host or LAN). Reconnects on the next call after an
// error. Keys: "<prefix><hex contact id>", values: the hex SHA-256.
class RedisPushBindingStore final : public PushBindingStore {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 6379;
    std::string key_prefix = "hybrid:push-binding:";
    std::chrono::seconds lifetime{30 * 24 * 3600};
    std::chrono::milliseconds timeout{250};
  };
  explicit RedisPushBindingStore(Options options);
  ~RedisPushBindingStore() override;
  // "redis://host:port" (optionally with a trailing "/" and nothing else).
  static Result<Options> parse_url(const std::string& url);

  Result<crypto::Sha256Digest> bind_if_absent(ByteView contact_id, const crypto::Sha256Digest& secret_hash) override;
  Result<std::optional<crypto::Sha256Digest>> lookup(ByteView contact_id) override;
  std::string describe() const override;

 private:
  struct Reply {
    char type = 0;               // '+', '-', ':', '$' (bulk; nil when !value)
    std::optional<std::string> value;
  };
  Status ensure_connected();
  Result<Reply> command(std::initializer_list<std::string> args);
  void disconnect();
  Options options_;
  int fd_ = -1;
  std::string inbuf_;
};

}  // namespace hybrid::tunnel
