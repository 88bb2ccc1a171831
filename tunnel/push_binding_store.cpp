#include "tunnel/push_binding_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hybrid::tunnel {
namespace {

using Clock = std::chrono::steady_clock;

std::string key_of(ByteView contact_id) { return std::string(contact_id.begin(), contact_id.end()); }

Result<crypto::Sha256Digest> digest_from_hex(const std::string& hex) {
  auto bytes = hex_decode(hex);
  if (!bytes || bytes->size() != 32) return make_error("the registration store holds a malformed binding");
  crypto::Sha256Digest d;
  std::memcpy(d.data(), bytes->data(), 32);
  return d;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

// ---- in memory --------------------------------------------------------------------------

InMemoryPushBindingStore::InMemoryPushBindingStore(size_t capacity, std::chrono::seconds lifetime)
    : capacity_(capacity ? capacity : 1), lifetime_(lifetime) {}

void InMemoryPushBindingStore::forget_expired(Clock::time_point now) {
  // Amortised: look at the oldest few entries on each call.
  for (int i = 0; i < 4 && !order_.empty(); ++i) {
    auto it = bindings_.find(order_.front());
    if (it != bindings_.end() && it->second.expires > now) break;
    if (it != bindings_.end()) bindings_.erase(it);
    order_.pop_front();
  }
}

Result<crypto::Sha256Digest> InMemoryPushBindingStore::bind_if_absent(ByteView contact_id,
                                                                       const crypto::Sha256Digest& secret_hash) {
  auto now = Clock::now();
  forget_expired(now);
  std::string key = key_of(contact_id);
  auto it = bindings_.find(key);
  if (it != bindings_.end() && it->second.expires > now) {
    if (constant_time_equal(it->second.hash, secret_hash)) it->second.expires = now + lifetime_;
    return it->second.hash;
  }
  if (it != bindings_.end()) bindings_.erase(it);
  while (bindings_.size() >= capacity_ && !order_.empty()) {
    bindings_.erase(order_.front());
    order_.pop_front();
  }
  bindings_[key] = Entry{secret_hash, now + lifetime_};
  order_.push_back(std::move(key));
  if (order_.size() > 2 * capacity_ + 16) {  // drop keys that were erased or re-bound
    std::deque<std::string> live;
    for (auto& k : order_) {
      if (bindings_.count(k)) live.push_back(std::move(k));
    }
    order_.swap(live);
  }
  return secret_hash;
}

Result<std::optional<crypto::Sha256Digest>> InMemoryPushBindingStore::lookup(ByteView contact_id) {
  auto it = bindings_.find(key_of(contact_id));
  if (it == bindings_.end() || it->second.expires <= Clock::now()) return std::optional<crypto::Sha256Digest>();
  return std::optional<crypto::Sha256Digest>(it->second.hash);
}

// ---- Redis --------------------------------------------------------------------------------

RedisPushBindingStore::RedisPushBindingStore(Options options) : options_(std::move(options)) {}
RedisPushBindingStore::~RedisPushBindingStore() { disconnect(); }

Result<RedisPushBindingStore::Options> RedisPushBindingStore::parse_url(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind(kScheme, 0) != 0) return make_error("the registration store must be redis://HOST:PORT, got \"" + url + "\"");
  std::string rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  Options o;
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    o.host = rest;
  } else {
    o.host = rest.substr(0, colon);
    std::string port = rest.substr(colon + 1);
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p <= 0 || p > 65535) {
      return make_error("the registration store URL has a bad port: \"" + url + "\"");
    }
    o.port = static_cast<uint16_t>(p);
  }
  if (o.host.empty() || o.host.find('/') != std::string::npos) {
    return make_error("the registration store URL has no host: \"" + url + "\"");
  }
  return o;
}

std::string RedisPushBindingStore::describe() const {
  return "redis://" + options_.host + ":" + std::to_string(options_.port);
}

void RedisPushBindingStore::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  inbuf_.clear();
}

Status RedisPushBindingStore::ensure_connected() {
  if (fd_ >= 0) return {};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(options_.port);
  if (getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    return make_error("cannot resolve the registration store host " + options_.host);
  }
  auto deadline = Clock::now() + options_.timeout;
  std::string why = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        if (err) why = std::strerror(err);
      } else {
        why = "timed out";
      }
    } else if (rc != 0) {
      why = std::strerror(errno);
    }
    if (rc == 0) {
      fd_ = fd;
      break;
    }
    ::close(fd);
  }
  freeaddrinfo(res);
  if (fd_ < 0) return make_error("cannot reach the registration store at " + describe() + ": " + why);
  return {};
}

Result<RedisPushBindingStore::Reply> RedisPushBindingStore::command(std::initializer_list<std::string> args) {
  HYBRID_TRY_STATUS(ensure_connected());
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  auto deadline = Clock::now() + options_.timeout;
  auto fail = [&](const std::string& why) -> Error {
    disconnect();
    return make_error("the registration store at " + describe() + " " + why);
  };
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) != 1) return fail("did not take the request in time");
      continue;
    }
    return fail("closed the connection");
  }
  // Reads until one whole reply (a line, or a bulk string) is buffered.
  auto fill = [&]() -> Status {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) != 1) return fail("did not answer in time");
    char buf[512];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return fail("closed the connection");
    inbuf_.append(buf, static_cast<size_t>(n));
    if (inbuf_.size() > 64 * 1024) return fail("sent an oversized reply");
    return {};
  };
  size_t eol;
  while ((eol = inbuf_.find("\r\n")) == std::string::npos) HYBRID_TRY_STATUS(fill());
  Reply r;
  r.type = inbuf_.empty() ? 0 : inbuf_[0];
  std::string line = inbuf_.substr(1, eol - 1);
  if (r.type == '$') {
    char* end = nullptr;
    long len = std::strtol(line.c_str(), &end, 10);
    if (*end != '\0' || len < -1 || len > 4096) return fail("sent a malformed reply");
    if (len >= 0) {
      size_t need = eol + 2 + static_cast<size_t>(len) + 2;
      while (inbuf_.size() < need) HYBRID_TRY_STATUS(fill());
      r.value = inbuf_.substr(eol + 2, static_cast<size_t>(len));
      inbuf_.erase(0, need);
    } else {
      inbuf_.erase(0, eol + 2);
    }
  } else if (r.type == '+' || r.type == '-' || r.type == ':') {
    r.value = line;
    inbuf_.erase(0, eol + 2);
  } else {
    return fail("sent a reply this client does not understand");
  }
  if (r.type == '-') return make_error("the registration store at " + describe() + " refused: " + *r.value);
  return r;
}

Result<crypto::Sha256Digest> RedisPushBindingStore::bind_if_absent(ByteView contact_id,
                                                                    const crypto::Sha256Digest& secret_hash) {
  std::string key = options_.key_prefix + hex_encode(contact_id);
  std::string ttl = std::to_string(options_.lifetime.count());
  HYBRID_TRY(auto set, command({"SET", key, hex_encode(secret_hash), "NX", "EX", ttl}));
  if (set.type == '+') return secret_hash;  // bound now
  HYBRID_TRY(auto got, command({"GET", key}));
  if (!got.value) {  // expired between the two calls: bind again
    HYBRID_TRY(auto again, command({"SET", key, hex_encode(secret_hash), "NX", "EX", ttl}));
    if (again.type == '+') return secret_hash;
    HYBRID_TRY(got, command({"GET", key}));
    if (!got.value) return make_error("the registration store keeps losing the binding");
  }
  HYBRID_TRY(auto bound, digest_from_hex(*got.value));
  if (constant_time_equal(bound, secret_hash)) (void)command({"EXPIRE", key, ttl});
  return bound;
}

Result<std::optional<crypto::Sha256Digest>> RedisPushBindingStore::lookup(ByteView contact_id) {
  HYBRID_TRY(auto got, command({"GET", options_.key_prefix + hex_encode(contact_id)}));
  if (!got.value) return std::optional<crypto::Sha256Digest>();
  HYBRID_TRY(auto bound, digest_from_hex(*got.value));
  return std::optional<crypto::Sha256Digest>(bound);
}

}  // namespace hybrid::tunnel
