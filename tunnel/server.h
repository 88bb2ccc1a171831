// The tunnel server: a thin libwebsockets adapter around Registry (the state machine).
// One lws context, one service thread (Debian's lws has LWS_MAX_SMP 1); to use more cores
// run more processes with distinct routing ids behind HAProxy (docs/tunnel.md).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "base/result.h"
#include "hybrid/ids.h"
#include "tunnel/limits.h"
#include "tunnel/push_binding_store.h"

namespace hybrid::tunnel {

struct ServerConfig {
  std::string host = "127.0.0.1";  // address to listen on ("0.0.0.0", "::", "127.0.0.1")
  uint16_t port = 0;               // 0 picks a free port
  std::string tls_cert_file;       // PEM; both empty = plain ws (tests, behind a TLS proxy)
  std::string tls_key_file;
  RoutingId routing_id{{0x2A, 0x00, 0x00}};  // this node's id, emitted upper-case
  ServerLimits limits;
  // Behind a proxy (HAProxy with `option forwardfor`): take the client address for the
  // per-address limits from the last X-Forwarded-For entry instead of the socket's peer.
  // Only for servers that nobody can reach except through that proxy.
  bool trust_forwarded_for = false;
  // Where push bindings (contact id -> secret) are kept: nullptr = this node's memory
  // (InMemoryPushBindingStore); nodes behind one proxy share a RedisPushBindingStore.
  std::shared_ptr<PushBindingStore> push_bindings;
};

class TunnelServer {
 public:
  // Creates the context and binds the listening socket (so port() is known at once).
  static Result<std::unique_ptr<TunnelServer>> create(const ServerConfig& config);
  ~TunnelServer();  // stops and joins if start() was used

  uint16_t port() const;
  std::string url() const;  // ws://host:port or wss://host:port

  // Serves on the calling thread until stop(); then closes every connection with 1001,
  // gives them up to `drain` to flush, and returns.
  void run();
  // Serves on a background thread.
  void start();
  // Thread-safe and async-signal-safe: asks the service loop to shut down gracefully.
  void stop();
  // Thread-safe: new limits for a running server (SIGHUP), applied by the service thread at
  // its next wakeup; open tunnels stay. handshake_timeout, max_header_bytes and
  // max_message_size are fixed when the server is created and are kept.
  void update_limits(const ServerLimits& limits);
  // Thread-safe and async-signal-safe (SIGTERM): drain, then stop. The node refuses /new,
  // /contact and /push with 503, answers /healthz with 503 (so a proxy marks it down),
  // closes push channels with 1001 (phones re-register elsewhere), lets pending tunnels be
  // joined and every tunnel run to its end or TTL, and then stops as stop() does.
  void drain();
  // Waits for the background thread started by start().
  void join();

  struct Impl;

 private:
  explicit TunnelServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace hybrid::tunnel
