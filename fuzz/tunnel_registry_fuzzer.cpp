// The tunnel registry (the server's state without sockets) fed a random sequence of
// operations — /new, /connect, /contact, /push, messages, closes, clock ticks, shutdown —
// the way the libwebsockets adapter would feed it, with tiny limits so that every limit is
// hit. After every operation the registry's books must balance with what the adapter
// sees and with a model of the push registrations (lifetime, per-address cap, global cap
// with eviction of the longest-idle one), every limit must hold (connections per address,
// registrations per address, queued bytes over the node), and at the end, after every
// connection closed and the clock ran past every lifetime, nothing may be left (no leak).
// abort() = a finding.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>

#include "fuzz/invariant.h"
#include "tunnel/push_message.h"
#include "tunnel/registry.h"

using namespace hybrid;
using namespace hybrid::tunnel;
using hybrid::fuzz::violated;

namespace {

enum class Side { initiator, joiner, listener };

// A push registration as the adapter can know it: created or renewed by an admitted /push,
// connected while its listener is open, renewed by keepalives, idle since its last one.
struct ModelRegistration {
  std::string owner;  // the address it counts against
  ConnId listener = 0;
  TimePoint last_seen{};
};

struct Model {
  std::map<ConnId, Side> open;                 // admitted and not closed, as the adapter sees it
  std::map<ConnId, uint32_t> relayed_to;       // tunnel messages delivered to a tunnel side
  std::set<ConnId> closing;                    // the registry asked to close; adapter will report
  std::vector<TunnelId> known_tunnels;         // ids used in /new or learned from pushes
  std::map<ConnId, std::string> ip_of;         // the address of each open connection
  std::map<ConnId, Bytes> contact_of;          // the contact id of each open push listener
  std::map<Bytes, ModelRegistration> registrations;
  uint64_t evicted = 0, expired = 0;
};

Bytes contact_id(uint8_t n) { return Bytes(1 + n % 4, static_cast<uint8_t>(0x42 + n / 4)); }

TunnelId small_tunnel_id(uint8_t n) {
  TunnelId id;
  id.bytes.fill(0);
  id.bytes[0] = n;
  return id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  ServerLimits limits;
  limits.tunnel_ttl = std::chrono::seconds(in.ConsumeIntegralInRange<int>(1, 200));
  limits.max_messages_per_side = in.ConsumeIntegralInRange<uint32_t>(1, 6);
  limits.max_message_size = in.ConsumeIntegralInRange<size_t>(1, 64);
  limits.max_pending_per_ip = in.ConsumeIntegralInRange<uint32_t>(1, 4);
  limits.max_connections = in.ConsumeIntegralInRange<uint32_t>(1, 16);
  limits.idle_timeout = std::chrono::seconds(in.ConsumeIntegralInRange<int>(1, 100));
  limits.push_idle_timeout = std::chrono::seconds(in.ConsumeIntegralInRange<int>(1, 300));
  limits.max_push_registrations = in.ConsumeIntegralInRange<uint32_t>(1, 6);
  limits.max_queued_pushes = in.ConsumeIntegralInRange<uint32_t>(1, 4);
  limits.max_refusals_per_ip_per_minute = in.ConsumeIntegralInRange<uint32_t>(1, 30);
  limits.max_push_registrations_per_ip = in.ConsumeIntegralInRange<uint32_t>(1, 4);
  limits.push_registration_lifetime = std::chrono::seconds(in.ConsumeIntegralInRange<int>(1, 400));
  limits.max_connections_per_ip = in.ConsumeIntegralInRange<uint32_t>(1, 8);
  limits.max_queued_bytes = in.ConsumeIntegralInRange<size_t>(1, 256);

  const RoutingId routing{{0xaa, 0xbb, 0xcc}};
  Registry registry(routing, limits);
  Model model;
  for (uint8_t i = 0; i < 4; ++i) model.known_tunnels.push_back(small_tunnel_id(i));
  TimePoint now{};
  ConnId next_conn = 1;
  const std::string ips[] = {"127.0.0.1", "127.0.0.2", "::1"};
  const std::string secrets[] = {"0123456789abcdef", "fedcba9876543210fedcba", "short"};
  const auto tunnel_limit = limits.max_messages_per_side + 1;  // + the connect signal

  // A connection is gone: its address slot frees, its registration (if it was the
  // registration's listener) becomes idle from its last keepalive on.
  auto forget_conn = [&](ConnId c) {
    model.ip_of.erase(c);
    auto l = model.contact_of.find(c);
    if (l == model.contact_of.end()) return;
    auto r = model.registrations.find(l->second);
    if (r != model.registrations.end() && r->second.listener == c) r->second.listener = 0;
    model.contact_of.erase(l);
  };
  auto owned_by = [&](const std::string& ip) {
    size_t n = 0;
    for (const auto& [id, r] : model.registrations) n += r.owner == ip;
    return n;
  };
  // The idle registration the registry must evict or expire first: longest idle, then the
  // smallest contact id.
  auto oldest_idle = [&] {
    auto best = model.registrations.end();
    for (auto it = model.registrations.begin(); it != model.registrations.end(); ++it) {
      if (it->second.listener != 0) continue;
      if (best == model.registrations.end() || it->second.last_seen < best->second.last_seen) best = it;
    }
    return best;
  };
  auto expire_registrations = [&] {
    for (auto it = oldest_idle(); it != model.registrations.end() && now - it->second.last_seen >= limits.push_registration_lifetime;
         it = oldest_idle()) {
      model.registrations.erase(it);
      model.expired++;
    }
  };

  // Applies the registry's actions as the adapter does, checking each against the model.
  auto apply_actions = [&] {
    for (auto& a : registry.take_actions()) {
      auto it = model.open.find(a.conn);
      if (it == model.open.end()) violated("an action for a connection that is not open");
      if (a.kind == Action::Kind::send) {
        if (it->second == Side::listener) {
          if (!a.message.empty()) {
            auto push = decode_push_message(a.message);
            if (!push) violated("a push listener was sent something that is not a push message");
            if (push->routing_id != routing) violated("a push names another node's routing id");
            if (model.known_tunnels.size() < 64) model.known_tunnels.push_back(push->tunnel_id);
          }
        } else {
          if (a.message.size() > limits.max_message_size) violated("relayed a message over max_message_size");
          if (++model.relayed_to[a.conn] > tunnel_limit) violated("relayed more messages than a side may send");
        }
      } else {
        forget_conn(a.conn);
        model.open.erase(it);
        model.closing.insert(a.conn);
      }
    }
    // The adapter reports each close it performed (the registry must ignore them).
    for (ConnId c : model.closing) registry.on_closed(c, true, now);
    model.closing.clear();
    if (registry.has_actions()) violated("on_closed of a closed connection produced actions");
  };

  auto check_books = [&] {
    Gauges g = registry.gauges();
    if (g.connections != model.open.size()) violated("the registry's connection count differs from the open sockets");
    if (g.connections > limits.max_connections) violated("more connections than max_connections");
    size_t initiators = 0, joiners = 0, listeners = 0;
    for (const auto& [c, side] : model.open) {
      if (!registry.is_admitted(c)) violated("an open connection is not admitted");
      initiators += side == Side::initiator;
      joiners += side == Side::joiner;
      listeners += side == Side::listener;
    }
    if (g.pending_tunnels + g.paired_tunnels != initiators) violated("tunnels and initiators differ");
    if (g.paired_tunnels != joiners) violated("paired tunnels and joiners differ");
    if (g.push_listeners != listeners) violated("push listeners differ");
    if (g.push_registrations > limits.max_push_registrations) violated("more push registrations than the cap");
    if (g.push_listeners > g.push_registrations) violated("a listener without a registration");
    if (g.pending_tunnels > size_t{limits.max_pending_per_ip} * std::size(ips)) violated("pending per address over its limit");
    // The push registrations match the model: created by /push, renewed by keepalives,
    // evicted (longest idle first) and expired as the limits say.
    size_t connected = 0;
    for (const auto& [id, r] : model.registrations) connected += r.listener != 0;
    if (g.push_registrations != model.registrations.size()) violated("push registrations differ from the model");
    if (g.push_listeners != connected) violated("connected registrations differ from the model");
    if (registry.counters().push_registrations_evicted != model.evicted) violated("evictions differ from the model");
    if (registry.counters().push_registrations_expired != model.expired) violated("expiries differ from the model");
    for (const auto& ip : ips) {
      size_t conns = 0;
      for (const auto& [c, cip] : model.ip_of) conns += cip == ip;
      if (conns > limits.max_connections_per_ip) violated("more connections from one address than max_connections_per_ip");
      if (owned_by(ip) > limits.max_push_registrations_per_ip) {
        violated("more push registrations owned by one address than max_push_registrations_per_ip");
      }
    }
    if (g.queued_bytes > limits.max_queued_bytes) violated("more bytes queued on the node than max_queued_bytes");
  };

  auto admit = [&](RequestPath path, Side side) -> bool {
    UpgradeRequest up;
    up.path = std::move(path);
    up.client_ip = ips[in.ConsumeIntegralInRange<size_t>(0, std::size(ips) - 1)];
    if (in.ConsumeBool()) {
      up.client_payload_hex = in.ConsumeBool() ? std::string("A1016161") : in.ConsumeRandomLengthString(24);
    }
    up.signal_connection = in.ConsumeBool();
    if (in.ConsumeBool()) up.push_secret = secrets[in.ConsumeIntegralInRange<size_t>(0, std::size(secrets) - 1)];
    const ConnId conn = next_conn++;
    Admission a = registry.admit(conn, up, now);
    if (a.ok() != !a.reason.has_value()) violated("an admission that is both refused and accepted");
    if (a.ok() != registry.is_admitted(conn)) violated("the admission and is_admitted disagree");
    if (!a.ok() && a.status < 400) violated("a refusal without an HTTP error status");
    if (a.ok()) {
      model.open[conn] = side;
      model.ip_of[conn] = up.client_ip;
    }
    if (const auto* push = std::get_if<PushRequest>(&up.path)) {
      auto reg = model.registrations.find(push->contact_id);
      const bool is_new = reg == model.registrations.end();
      if (a.ok()) {
        if (is_new) {
          if (owned_by(up.client_ip) >= limits.max_push_registrations_per_ip) {
            violated("a new registration accepted from an address at its cap");
          }
          if (model.registrations.size() >= limits.max_push_registrations) {
            auto evict = oldest_idle();
            if (evict == model.registrations.end()) violated("a registration accepted into a table of connected phones");
            model.registrations.erase(evict);
            model.evicted++;
          }
          reg = model.registrations.emplace(push->contact_id, ModelRegistration{up.client_ip}).first;
        } else if (reg->second.owner != up.client_ip && owned_by(up.client_ip) < limits.max_push_registrations_per_ip) {
          reg->second.owner = up.client_ip;  // renewed from another address that has room for it
        }
        reg->second.listener = conn;  // the previous listener's close comes as an action
        reg->second.last_seen = now;
        model.contact_of[conn] = push->contact_id;
      } else if (a.reason == Reject::registration_limit &&
                 (!is_new || owned_by(up.client_ip) < limits.max_push_registrations_per_ip)) {
        violated("a registration refused for an address under its cap");
      }
    }
    return a.ok();
  };

  for (int step = 0; step < 200 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange<uint8_t>(0, 10)) {
      case 0:
        admit(NewTunnelRequest{small_tunnel_id(in.ConsumeIntegralInRange<uint8_t>(0, 3))}, Side::initiator);
        break;
      case 1:
      case 2: {
        RoutingId r = in.ConsumeIntegralInRange<uint8_t>(0, 7) == 0 ? RoutingId{{1, 2, 3}} : routing;
        const TunnelId& t = model.known_tunnels[in.ConsumeIntegralInRange<size_t>(0, model.known_tunnels.size() - 1)];
        admit(ConnectRequest{r, t}, Side::joiner);
        break;
      }
      case 3:
        admit(ContactRequest{contact_id(in.ConsumeIntegralInRange<uint8_t>(0, 11))}, Side::initiator);
        break;
      case 4:
        admit(PushRequest{contact_id(in.ConsumeIntegralInRange<uint8_t>(0, 11))}, Side::listener);
        break;
      case 5:
      case 6:
        if (!model.open.empty()) {
          auto it = std::next(model.open.begin(), in.ConsumeIntegralInRange<size_t>(0, model.open.size() - 1));
          Bytes m = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, limits.max_message_size + 2));
          const bool binary = in.ConsumeIntegralInRange<uint8_t>(0, 9) != 0;
          if (it->second == Side::listener && binary && m.empty()) {  // a keepalive renews the registration
            auto r = model.registrations.find(model.contact_of[it->first]);
            if (r != model.registrations.end() && r->second.listener == it->first) r->second.last_seen = now;
          }
          registry.on_message(it->first, m, binary, now);
        }
        break;
      case 7:
        if (!model.open.empty()) {
          auto it = std::next(model.open.begin(), in.ConsumeIntegralInRange<size_t>(0, model.open.size() - 1));
          if (in.ConsumeIntegralInRange<uint8_t>(0, 5) == 0) {
            registry.on_message_too_big(it->first, now);
          } else {
            ConnId c = it->first;
            model.open.erase(it);  // the peer went away; the adapter reports it
            forget_conn(c);
            registry.on_closed(c, in.ConsumeBool(), now);
          }
        }
        break;
      case 8:
        now += std::chrono::seconds(in.ConsumeIntegralInRange<int>(0, 150));
        registry.tick(now);
        apply_actions();  // quiet listeners are closed first, then idle registrations expire
        expire_registrations();
        break;
      case 9: {
        const std::string& ip = ips[in.ConsumeIntegralInRange<size_t>(0, std::size(ips) - 1)];
        registry.refused(Reject::unknown_path, ip, now);
        (void)registry.rate_limited(ip, now);
        break;
      }
      case 10:
        if (in.ConsumeIntegralInRange<uint8_t>(0, 15) == 0) {
          registry.shut_down();
          apply_actions();
          if (registry.gauges().connections != 0) violated("connections left after shut_down");
        }
        break;
    }
    apply_actions();
    check_books();
  }

  // No leak: every socket closes, the clock passes every lifetime.
  std::vector<ConnId> remaining;
  for (const auto& [c, side] : model.open) remaining.push_back(c);
  for (ConnId c : remaining) {
    model.open.erase(c);
    forget_conn(c);
    registry.on_closed(c, false, now);
    apply_actions();
  }
  // Push registrations outlive their connections by design (renewed by reconnects, dropped
  // after push_registration_lifetime), and they keep their address's record: step past it.
  now += limits.tunnel_ttl + std::chrono::minutes(2) + limits.push_idle_timeout + limits.push_registration_lifetime;
  registry.tick(now);
  apply_actions();
  Gauges g = registry.gauges();
  if (g.connections || g.pending_tunnels || g.paired_tunnels || g.push_listeners) violated("state left after every close");
  if (g.push_registrations) violated("push registrations kept past their lifetime");
  if (g.queued_bytes) violated("queued bytes counted after every tunnel and registration ended");
  if (g.ended_tunnels_remembered) violated("ended tunnels remembered past their lifetime");
  if (g.tracked_ips) violated("per-address records kept after every tunnel ended");
  return 0;
}
