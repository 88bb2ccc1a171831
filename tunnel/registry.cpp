#include "tunnel/registry.h"

#include <cstring>

#include "hybrid/constants.h"
#include "tunnel/push_message.h"

namespace hybrid::tunnel {
namespace {

constexpr std::chrono::seconds kRefusalWindow{60};
constexpr size_t kMinPushSecretSize = 16;
constexpr size_t kMaxPushSecretSize = 512;

// Per-process random key so that attacker-chosen ids cannot be picked to collide in the
// hash tables (ids arrive in request paths).
struct HashKey {
  uint64_t k0, k1;
  HashKey() {
    auto r = crypto::random_bytes(16);
    std::memcpy(&k0, r.data(), 8);
    std::memcpy(&k1, r.data() + 8, 8);
  }
};
const HashKey& hash_key() {
  static const HashKey key;
  return key;
}

uint64_t mix(uint64_t a, uint64_t b) {
  unsigned __int128 p = static_cast<unsigned __int128>(a ^ hash_key().k0) * (b ^ hash_key().k1);
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

}  // namespace

size_t Registry::TunnelIdHash::operator()(const TunnelId& id) const {
  uint64_t a, b;
  std::memcpy(&a, id.bytes.data(), 8);
  std::memcpy(&b, id.bytes.data() + 8, 8);
  return mix(a, b);
}

size_t Registry::BytesHash::operator()(const Bytes& bytes) const {
  uint64_t h = bytes.size();
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, bytes.data() + i, std::min<size_t>(8, bytes.size() - i));
    h = mix(h + 0x9e3779b97f4a7c15ULL, chunk);
  }
  return h;
}

std::string_view reject_name(Reject reason) {
  switch (reason) {
    case Reject::not_websocket: return "not_websocket";
    case Reject::no_subprotocol: return "no_subprotocol";
    case Reject::bad_header: return "bad_header";
    case Reject::method: return "method";
    case Reject::unknown_path: return "unknown_path";
    case Reject::unknown_tunnel: return "unknown_tunnel";
    case Reject::wrong_routing: return "wrong_routing_id";
    case Reject::tunnel_gone: return "tunnel_gone";
    case Reject::duplicate_tunnel: return "duplicate_tunnel";
    case Reject::unknown_contact: return "unknown_contact";
    case Reject::push_secret: return "push_secret";
    case Reject::pending_limit: return "pending_limit";
    case Reject::rate_limit: return "rate_limit";
    case Reject::capacity: return "capacity";
    case Reject::header_too_large: return "header_too_large";
    case Reject::handshake_timeout: return "handshake_timeout";
    case Reject::connection_limit: return "connection_limit";
    case Reject::registration_limit: return "registration_limit";
    case Reject::text_frame: return "text_frame";
    case Reject::message_too_big: return "message_too_big";
    case Reject::too_many_messages: return "too_many_messages";
    case Reject::unexpected_message: return "unexpected_message";
    case Reject::queue_full: return "queue_full";
  }
  return "unknown";
}

int reject_status(Reject reason) {
  switch (reason) {
    case Reject::not_websocket:
    case Reject::no_subprotocol:
    case Reject::bad_header: return 400;
    case Reject::push_secret: return 403;
    case Reject::unknown_path:
    case Reject::unknown_tunnel:
    case Reject::wrong_routing: return 404;
    case Reject::method: return 405;
    case Reject::duplicate_tunnel: return 409;
    case Reject::tunnel_gone:
    case Reject::unknown_contact: return 410;
    case Reject::pending_limit:
    case Reject::connection_limit:
    case Reject::registration_limit:
    case Reject::rate_limit: return 429;
    case Reject::header_too_large: return 431;
    case Reject::capacity: return 503;
    default: return 0;
  }
}

Registry::Registry(RoutingId routing_id, ServerLimits limits, PushBindingStore* bindings)
    : routing_id_(routing_id), limits_(limits), bindings_(bindings) {}

Admission Registry::refuse(Reject reason, std::string message, const std::string& ip, TimePoint now) {
  refused(reason, ip, now);
  Admission a;
  a.status = reject_status(reason);
  a.reason = reason;
  a.message = std::move(message);
  return a;
}

void Registry::refused(Reject reason, const std::string& ip, TimePoint now) {
  counters_.rejects[static_cast<int>(reason)]++;
  auto& rec = ips_[ip];
  if (now - rec.window_start >= kRefusalWindow) {
    rec.window_start = now;
    rec.refusals = 0;
  }
  rec.refusals++;
}

bool Registry::rate_limited(const std::string& ip, TimePoint now) {
  auto it = ips_.find(ip);
  if (it == ips_.end()) return false;
  return now - it->second.window_start < kRefusalWindow &&
         it->second.refusals >= limits_.max_refusals_per_ip_per_minute;
}

Admission Registry::admit(ConnId conn, const UpgradeRequest& request, TimePoint now) {
  if (shutting_down_) return refuse(Reject::capacity, "the server is shutting down", request.client_ip, now);
  if (rate_limited(request.client_ip, now)) {
    counters_.rejects[static_cast<int>(Reject::rate_limit)]++;
    return Admission{429, Reject::rate_limit, "too many refused requests from this address; retry in a minute", {}, false};
  }
  if (conns_.size() >= limits_.max_connections) {
    return refuse(Reject::capacity, "the server holds its maximum number of connections", request.client_ip, now);
  }
  if (draining_ && !std::holds_alternative<ConnectRequest>(request.path)) {
    return refuse(Reject::capacity, "this node is draining; try another", request.client_ip, now);
  }
  if (auto ip = ips_.find(request.client_ip);
      ip != ips_.end() && ip->second.connections >= limits_.max_connections_per_ip) {
    return refuse(Reject::connection_limit, "too many connections from this address", request.client_ip, now);
  }
  return std::visit(
      [&](const auto& path) -> Admission {
        using T = std::decay_t<decltype(path)>;
        if constexpr (std::is_same_v<T, NewTunnelRequest>) return admit_new(conn, path, request, now);
        else if constexpr (std::is_same_v<T, ConnectRequest>) return admit_connect(conn, path, request, now);
        else if constexpr (std::is_same_v<T, ContactRequest>) return admit_contact(conn, path, request, now);
        else if constexpr (std::is_same_v<T, PushRequest>) return admit_push(conn, path, request, now);
        else return refuse(Reject::not_websocket, "this path is plain HTTP, not a WebSocket", request.client_ip, now);
      },
      request.path);
}

Admission Registry::admit_new(ConnId conn, const NewTunnelRequest& req, const UpgradeRequest& up, TimePoint now) {
  if (tunnels_.count(req.tunnel_id) || ended_.count(req.tunnel_id)) {
    return refuse(Reject::duplicate_tunnel, "this tunnel id is already in use", up.client_ip, now);
  }
  auto& ip = ips_[up.client_ip];
  if (ip.pending >= limits_.max_pending_per_ip) {
    return refuse(Reject::pending_limit, "too many pending tunnels from this address", up.client_ip, now);
  }
  ip.pending++;
  Tunnel& t = tunnels_[req.tunnel_id];
  t.initiator = conn;
  t.deadline = now + limits_.tunnel_ttl;
  t.last_activity = now;
  t.initiator_ip = up.client_ip;
  bind(conn, Conn{Role::initiator, req.tunnel_id, {}, now, up.client_ip});
  counters_.tunnels_created++;
  Admission a;
  a.routing_id_header = routing_id_;
  return a;
}

Admission Registry::admit_connect(ConnId conn, const ConnectRequest& req, const UpgradeRequest& up, TimePoint now) {
  if (req.routing_id != routing_id_) {
    return refuse(Reject::wrong_routing, "no such tunnel on this node (routing id differs)", up.client_ip, now);
  }
  auto it = tunnels_.find(req.tunnel_id);
  if (it == tunnels_.end()) {
    if (ended_.count(req.tunnel_id)) {
      return refuse(Reject::tunnel_gone, "this tunnel has ended", up.client_ip, now);
    }
    return refuse(Reject::unknown_tunnel, "no such tunnel", up.client_ip, now);
  }
  Tunnel& t = it->second;
  if (t.joiner != 0) return refuse(Reject::tunnel_gone, "this tunnel already has both sides", up.client_ip, now);
  t.joiner = conn;
  t.last_activity = now;
  release_pending(t);
  paired_++;
  counters_.pairings++;
  bind(conn, Conn{Role::joiner, req.tunnel_id, {}, now, up.client_ip});
  if (t.signal_connection) send(t.initiator, Bytes{kConnectSignal});
  while (!t.queued.empty()) {
    counters_.messages_relayed++;
    counters_.bytes_relayed += t.queued.front().size();
    drop_queued(t.queued.front().size());
    send(conn, std::move(t.queued.front()));
    t.queued.pop_front();
  }
  return Admission{};
}

Admission Registry::admit_contact(ConnId conn, const ContactRequest& req, const UpgradeRequest& up, TimePoint now) {
  auto reg = registrations_.find(req.contact_id);
  if (reg == registrations_.end() && bindings_ && registrations_.size() < limits_.max_push_registrations) {
    // Registered elsewhere (another node before the ring changed, or evicted here): keep
    // the push for the phone, which re-registers on this node, instead of a 410 that would
    // make the client forget the link.
    auto bound = bindings_->lookup(req.contact_id);
    if (!bound) return refuse(Reject::capacity, "the registration store is unavailable", up.client_ip, now);
    if (*bound) {
      reg = registrations_.emplace(req.contact_id, Registration{}).first;
      reg->second.secret_hash = **bound;
    }
  }
  if (reg == registrations_.end()) {
    return refuse(Reject::unknown_contact, "unknown contact id: forget this link", up.client_ip, now);
  }
  Bytes payload;
  if (up.client_payload_hex) {
    if (up.client_payload_hex->size() > 2 * kMaxClientPayloadSize) {
      return refuse(Reject::bad_header, "X-caBLE-Client-Payload is too long", up.client_ip, now);
    }
    auto decoded = hex_decode(*up.client_payload_hex);
    if (!decoded) return refuse(Reject::bad_header, "X-caBLE-Client-Payload is not hex", up.client_ip, now);
    payload = std::move(*decoded);
  }
  auto& ip = ips_[up.client_ip];
  if (ip.pending >= limits_.max_pending_per_ip) {
    return refuse(Reject::pending_limit, "too many pending tunnels from this address", up.client_ip, now);
  }
  TunnelId id;
  do {
    id.bytes = crypto::random_array<kTunnelIdSize>();
  } while (tunnels_.count(id) || ended_.count(id));
  ip.pending++;
  Tunnel& t = tunnels_[id];
  t.initiator = conn;
  t.deadline = now + limits_.tunnel_ttl;
  t.last_activity = now;
  t.initiator_ip = up.client_ip;
  t.signal_connection = up.signal_connection;
  bind(conn, Conn{Role::initiator, id, {}, now, up.client_ip});
  counters_.tunnels_created++;

  Bytes push = encode_push_message(PushMessage{id, routing_id_, std::move(payload)});
  Registration& r = reg->second;
  if (r.listener != 0) {
    send(r.listener, std::move(push));
    counters_.pushes_sent++;
  } else {
    if (r.queued.size() >= limits_.max_queued_pushes) {
      drop_queued(r.queued.front().second.size());
      r.queued.pop_front();
      counters_.pushes_dropped++;
    }
    if (queued_bytes_ + push.size() > limits_.max_queued_bytes) {
      counters_.pushes_dropped++;  // the node's queue is full: the client's /contact still waits
    } else {
      queued_bytes_ += push.size();
      r.queued.emplace_back(id, std::move(push));
    }
  }
  Admission a;
  a.echo_signal_connection = up.signal_connection;
  return a;
}

Admission Registry::admit_push(ConnId conn, const PushRequest& req, const UpgradeRequest& up, TimePoint now) {
  if (!up.push_secret || up.push_secret->size() < kMinPushSecretSize ||
      up.push_secret->size() > kMaxPushSecretSize) {
    return refuse(Reject::bad_header, "X-caBLE-Push-Secret must be 16..512 characters", up.client_ip, now);
  }
  auto hash = crypto::sha256(as_bytes(*up.push_secret));
  auto it = registrations_.find(req.contact_id);
  if (it != registrations_.end()) {
    if (!constant_time_equal(it->second.secret_hash, hash)) {
      return refuse(Reject::push_secret, "this contact id is registered with another secret", up.client_ip, now);
    }
  } else {
    if (auto ip = ips_.find(up.client_ip);
        ip != ips_.end() && ip->second.registrations >= limits_.max_push_registrations_per_ip) {
      return refuse(Reject::registration_limit, "too many push registrations from this address", up.client_ip, now);
    }
    if (registrations_.size() >= limits_.max_push_registrations) {
      if (idle_registrations_.empty()) {
        return refuse(Reject::capacity, "the push registration table is full of connected phones", up.client_ip, now);
      }
      // Full: the registration whose phone has been away longest makes room.
      drop_registration(registrations_.find(idle_registrations_.begin()->second));
      counters_.push_registrations_evicted++;
    }
    if (bindings_) {  // the secret bound before, possibly on another node
      auto bound = bindings_->bind_if_absent(req.contact_id, hash);
      if (!bound) return refuse(Reject::capacity, "the registration store is unavailable", up.client_ip, now);
      if (!constant_time_equal(*bound, hash)) {
        return refuse(Reject::push_secret, "this contact id is registered with another secret", up.client_ip, now);
      }
    }
    it = registrations_.emplace(req.contact_id, Registration{}).first;
    it->second.secret_hash = hash;
    it->second.last_seen = now;
    counters_.push_registrations++;
  }
  Registration& r = it->second;
  if (r.listener != 0) close(r.listener, CloseCode::normal, "replaced by a newer push connection");
  mark_connected(it->first, r);
  r.last_seen = now;  // renewed: a reconnect counts as the phone being alive
  set_owner(r, up.client_ip);
  r.listener = conn;
  bind(conn, Conn{Role::push_listener, {}, req.contact_id, now, up.client_ip});
  deliver_queued_pushes(r, now);
  return Admission{};
}

void Registry::bind(ConnId conn, Conn c) {
  ips_[c.ip].connections++;
  conns_[conn] = std::move(c);
}

void Registry::forget_conn_ip(const Conn& c) {
  auto ip = ips_.find(c.ip);
  if (ip != ips_.end() && ip->second.connections > 0) ip->second.connections--;
}

void Registry::mark_idle(const Bytes& contact_id, Registration& reg) {
  idle_registrations_.emplace(reg.last_seen, contact_id);
}

void Registry::mark_connected(const Bytes& contact_id, Registration& reg) {
  idle_registrations_.erase({reg.last_seen, contact_id});
}

void Registry::set_owner(Registration& reg, const std::string& ip) {
  if (reg.owner_ip == ip) return;
  if (!reg.owner_ip.empty()) {
    // A renewal from another address (a phone that moved networks) moves the registration
    // there only if that address has room: otherwise two addresses could pass registrations
    // back and forth and own any number between them. The old address keeps counting it.
    if (auto to = ips_.find(ip); to != ips_.end() && to->second.registrations >= limits_.max_push_registrations_per_ip) {
      return;
    }
    auto old = ips_.find(reg.owner_ip);
    if (old != ips_.end() && old->second.registrations > 0) old->second.registrations--;
  }
  reg.owner_ip = ip;
  ips_[ip].registrations++;
}

void Registry::drop_registration(std::unordered_map<Bytes, Registration, BytesHash>::iterator it) {
  if (it == registrations_.end()) return;
  Registration& reg = it->second;
  if (reg.listener == 0) idle_registrations_.erase({reg.last_seen, it->first});
  for (const auto& q : reg.queued) drop_queued(q.second.size());
  if (auto owner = ips_.find(reg.owner_ip); owner != ips_.end() && owner->second.registrations > 0) {
    owner->second.registrations--;
  }
  registrations_.erase(it);
}

void Registry::drop_queued(size_t bytes) { queued_bytes_ = bytes > queued_bytes_ ? 0 : queued_bytes_ - bytes; }

void Registry::deliver_queued_pushes(Registration& reg, TimePoint) {
  while (!reg.queued.empty()) {
    auto& [id, push] = reg.queued.front();
    drop_queued(push.size());
    auto t = tunnels_.find(id);
    if (t != tunnels_.end() && t->second.joiner == 0) {
      send(reg.listener, std::move(push));
      counters_.pushes_sent++;
    } else {
      counters_.pushes_dropped++;
    }
    reg.queued.pop_front();
  }
}

void Registry::on_message(ConnId conn, ByteView message, bool binary, TimePoint now) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  if (!binary) {
    return violation(conn, Reject::text_frame, CloseCode::unsupported_data, "text frames are not allowed", now);
  }
  if (message.size() > limits_.max_message_size) {
    return violation(conn, Reject::message_too_big, CloseCode::message_too_big, "message too big", now);
  }
  c.last_activity = now;
  if (c.role == Role::push_listener) {
    if (!message.empty()) {
      return violation(conn, Reject::unexpected_message, CloseCode::policy_violation,
                       "push listeners send only keepalives", now);
    }
    // A keepalive renews the registration (it is not in the idle index while connected).
    if (auto reg = registrations_.find(c.contact_id); reg != registrations_.end() && reg->second.listener == conn) {
      reg->second.last_seen = now;
    }
    send(conn, Bytes{});
    return;
  }
  auto t = tunnels_.find(c.tunnel);
  if (t == tunnels_.end()) return;
  Tunnel& tunnel = t->second;
  bool from_initiator = c.role == Role::initiator;
  uint32_t& sent = from_initiator ? tunnel.sent_by_initiator : tunnel.sent_by_joiner;
  if (++sent > limits_.max_messages_per_side) {
    return violation(conn, Reject::too_many_messages, CloseCode::policy_violation, "too many messages", now);
  }
  tunnel.last_activity = now;
  if (tunnel.joiner == 0) {
    if (queued_bytes_ + message.size() > limits_.max_queued_bytes) {
      return violation(conn, Reject::queue_full, CloseCode::policy_violation, "the server's queue is full",
                       now);
    }
    queued_bytes_ += message.size();
    tunnel.queued.emplace_back(message.begin(), message.end());
    return;
  }
  counters_.messages_relayed++;
  counters_.bytes_relayed += message.size();
  send(from_initiator ? tunnel.joiner : tunnel.initiator, Bytes(message.begin(), message.end()));
}

void Registry::on_message_too_big(ConnId conn, TimePoint now) {
  if (!conns_.count(conn)) return;
  violation(conn, Reject::message_too_big, CloseCode::message_too_big, "message too big", now);
}

void Registry::violation(ConnId conn, Reject reason, CloseCode code, const std::string& text, TimePoint now) {
  counters_.rejects[static_cast<int>(reason)]++;
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  if (it->second.role == Role::push_listener) return close(conn, code, text);
  TunnelId id = it->second.tunnel;
  close(conn, code, text);  // the offender first, with its own code
  end_tunnel(id, CloseCode::policy_violation, CloseCode::policy_violation, "the peer broke a tunnel rule", now);
}

void Registry::on_closed(ConnId conn, bool clean, TimePoint now) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  Conn c = std::move(it->second);
  conns_.erase(it);
  forget_conn_ip(c);
  if (c.role == Role::push_listener) {
    auto reg = registrations_.find(c.contact_id);
    if (reg != registrations_.end() && reg->second.listener == conn) {
      reg->second.listener = 0;
      mark_idle(reg->first, reg->second);
    }
    return;
  }
  CloseCode code = clean ? CloseCode::normal : CloseCode::going_away;
  end_tunnel(c.tunnel, code, code, clean ? "remote peer cleanly disconnected" : "remote peer vanished", now);
}

void Registry::end_tunnel(const TunnelId& id, CloseCode initiator_code, CloseCode joiner_code,
                          const std::string& reason, TimePoint now) {
  auto it = tunnels_.find(id);
  if (it == tunnels_.end()) return;
  Tunnel t = std::move(it->second);
  tunnels_.erase(it);
  for (const auto& m : t.queued) drop_queued(m.size());
  if (t.joiner != 0) paired_--;
  else release_pending(t);
  ended_[id] = now + limits_.tunnel_ttl;
  close(t.initiator, initiator_code, reason);
  if (t.joiner != 0) close(t.joiner, joiner_code, reason);
}

void Registry::release_pending(Tunnel& tunnel) {
  if (tunnel.initiator_ip.empty()) return;
  auto ip = ips_.find(tunnel.initiator_ip);
  if (ip != ips_.end() && ip->second.pending > 0) ip->second.pending--;
  tunnel.initiator_ip.clear();
}

void Registry::send(ConnId conn, Bytes message) {
  actions_.push_back(Action{Action::Kind::send, conn, std::move(message), {}, {}});
}

void Registry::close(ConnId conn, CloseCode code, std::string reason) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  if (it->second.role == Role::push_listener) {
    auto reg = registrations_.find(it->second.contact_id);
    if (reg != registrations_.end() && reg->second.listener == conn) {
      reg->second.listener = 0;
      mark_idle(reg->first, reg->second);
    }
  }
  forget_conn_ip(it->second);
  conns_.erase(it);
  counters_.closes[code]++;
  actions_.push_back(Action{Action::Kind::close, conn, {}, code, std::move(reason)});
}

void Registry::tick(TimePoint now) {
  std::vector<TunnelId> expired, idle;
  for (const auto& [id, t] : tunnels_) {
    if (now >= t.deadline) expired.push_back(id);
    else if (t.joiner != 0 && now - t.last_activity >= limits_.idle_timeout) idle.push_back(id);
  }
  for (const auto& id : expired) {
    counters_.ttl_expiries++;
    end_tunnel(id, CloseCode::policy_violation, CloseCode::policy_violation, "tunnel expired", now);
  }
  for (const auto& id : idle) {
    counters_.idle_timeouts++;
    end_tunnel(id, CloseCode::policy_violation, CloseCode::policy_violation, "tunnel idle", now);
  }
  std::vector<ConnId> quiet;
  for (const auto& [id, c] : conns_) {
    if (c.role == Role::push_listener && now - c.last_activity >= limits_.push_idle_timeout) quiet.push_back(id);
  }
  for (ConnId id : quiet) {
    counters_.idle_timeouts++;
    close(id, CloseCode::policy_violation, "no keepalive from the push listener");
  }
  for (auto it = ended_.begin(); it != ended_.end();) {
    it = now >= it->second ? ended_.erase(it) : std::next(it);
  }
  // Registrations whose phone has been away longer than their lifetime, oldest first.
  while (!idle_registrations_.empty() &&
         now - idle_registrations_.begin()->first >= limits_.push_registration_lifetime) {
    drop_registration(registrations_.find(idle_registrations_.begin()->second));
    counters_.push_registrations_expired++;
  }
  for (auto it = ips_.begin(); it != ips_.end();) {
    bool idle_ip = it->second.pending == 0 && it->second.connections == 0 && it->second.registrations == 0 &&
                   now - it->second.window_start >= kRefusalWindow;
    it = idle_ip ? ips_.erase(it) : std::next(it);
  }
}

void Registry::shut_down() {
  shutting_down_ = true;
  std::vector<ConnId> all;
  all.reserve(conns_.size());
  for (const auto& [id, c] : conns_) all.push_back(id);
  for (ConnId id : all) close(id, CloseCode::going_away, "server shutting down");
  for (const auto& [id, t] : tunnels_) {
    for (const auto& m : t.queued) drop_queued(m.size());
  }
  tunnels_.clear();
  paired_ = 0;
  for (auto& [ip, rec] : ips_) rec.pending = 0;
}

void Registry::drain() {
  draining_ = true;
  std::vector<ConnId> listeners;
  for (const auto& [id, c] : conns_) {
    if (c.role == Role::push_listener) listeners.push_back(id);
  }
  for (ConnId id : listeners) close(id, CloseCode::going_away, "node draining: reconnect");
}

std::vector<Action> Registry::take_actions() {
  std::vector<Action> out;
  out.swap(actions_);
  return out;
}

Gauges Registry::gauges() const {
  Gauges g;
  g.paired_tunnels = paired_;
  g.pending_tunnels = tunnels_.size() - paired_;
  g.connections = conns_.size();
  g.push_registrations = registrations_.size();
  for (const auto& [id, r] : registrations_) g.push_listeners += r.listener != 0;
  g.ended_tunnels_remembered = ended_.size();
  g.tracked_ips = ips_.size();
  g.queued_bytes = queued_bytes_;
  return g;
}

}  // namespace hybrid::tunnel
