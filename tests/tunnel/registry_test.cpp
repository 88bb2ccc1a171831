// The tunnel registry as a pure state machine (no sockets, fake clock): pairing, queueing,
// status codes, limits, TTL and idle expiry, close propagation, the push channel, and
// that its tables return to empty after churn.
#include <catch2/catch.hpp>

#include "tunnel/metrics.h"
#include "tunnel/push_message.h"
#include "tunnel/registry.h"

using namespace hybrid;
using namespace hybrid::tunnel;
using namespace std::chrono_literals;

namespace {

const RoutingId kRouting = *RoutingId::from_hex("2A0000", "r");

TunnelId tid(uint8_t n) {
  TunnelId t;
  t.bytes.fill(n);
  return t;
}

struct Fixture {
  ServerLimits limits;
  std::unique_ptr<Registry> reg;
  TimePoint now = TimePoint{} + 1000s;
  ConnId next = 1;
  explicit Fixture(ServerLimits l = {}) : limits(l), reg(std::make_unique<Registry>(kRouting, l)) {}

  Admission open(ConnId id, RequestPath path, std::string ip = "10.0.0.1") {
    UpgradeRequest r;
    r.path = std::move(path);
    r.client_ip = std::move(ip);
    return reg->admit(id, r, now);
  }
  Admission open_new(ConnId id, uint8_t n, std::string ip = "10.0.0.1") {
    return open(id, NewTunnelRequest{tid(n)}, std::move(ip));
  }
  Admission open_connect(ConnId id, uint8_t n) { return open(id, ConnectRequest{kRouting, tid(n)}); }
  std::vector<Action> actions() { return reg->take_actions(); }
};

bool is_send(const Action& a, ConnId c, const Bytes& m) {
  return a.kind == Action::Kind::send && a.conn == c && a.message == m;
}
bool is_close(const Action& a, ConnId c, CloseCode code) {
  return a.kind == Action::Kind::close && a.conn == c && a.close_code == code;
}

}  // namespace

TEST_CASE("tunnel_registry: /new answers the routing id; /connect pairs and relays both ways") {
  Fixture f;
  auto a = f.open_new(1, 7);
  REQUIRE(a.ok());
  REQUIRE(a.routing_id_header);
  CHECK(a.routing_id_header->hex_upper() == "2A0000");
  CHECK(f.reg->gauges().pending_tunnels == 1);
  REQUIRE(f.open_connect(2, 7).ok());
  CHECK(f.reg->gauges().pending_tunnels == 0);
  CHECK(f.reg->gauges().paired_tunnels == 1);
  f.reg->on_message(2, Bytes{1, 2, 3}, true, f.now);
  f.reg->on_message(1, Bytes{4}, true, f.now);
  f.reg->on_message(1, Bytes{}, true, f.now);  // empty messages are relayed too
  auto acts = f.actions();
  REQUIRE(acts.size() == 3);
  CHECK(is_send(acts[0], 1, Bytes{1, 2, 3}));
  CHECK(is_send(acts[1], 2, Bytes{4}));
  CHECK(is_send(acts[2], 2, Bytes{}));
  CHECK(f.reg->counters().messages_relayed == 3);
  CHECK(f.reg->counters().bytes_relayed == 4);
}

TEST_CASE("tunnel_registry: messages sent before the peer joins are queued and delivered in order") {
  Fixture f;
  REQUIRE(f.open_new(1, 7).ok());
  f.reg->on_message(1, Bytes{1}, true, f.now);
  f.reg->on_message(1, Bytes{2}, true, f.now);
  CHECK(f.actions().empty());
  REQUIRE(f.open_connect(2, 7).ok());
  auto acts = f.actions();
  REQUIRE(acts.size() == 2);
  CHECK(is_send(acts[0], 2, Bytes{1}));
  CHECK(is_send(acts[1], 2, Bytes{2}));
}

TEST_CASE("tunnel_registry: status codes 404, 409, 410 and routing ids") {
  Fixture f;
  CHECK(f.open_connect(1, 9).status == 404);                 // never seen
  REQUIRE(f.open_new(2, 9).ok());
  CHECK(f.open_new(3, 9).status == 409);                     // duplicate /new
  CHECK(f.open(4, ConnectRequest{*RoutingId::from_hex("010203", "r"), tid(9)}).status == 404);  // other node
  REQUIRE(f.open_connect(5, 9).ok());
  CHECK(f.open_connect(6, 9).status == 410);                 // full
  f.reg->on_closed(2, true, f.now);
  auto acts = f.actions();
  REQUIRE(acts.size() == 1);
  CHECK(is_close(acts[0], 5, CloseCode::normal));                 // the peer follows, 1000
  CHECK(f.open_connect(7, 9).status == 410);                 // ended
  CHECK(f.open_new(8, 9).status == 409);                     // an ended id cannot be reused
  f.now += f.limits.tunnel_ttl + 1s;
  f.reg->tick(f.now);
  CHECK(f.open_connect(9, 9).status == 404);                 // forgotten
  CHECK(f.reg->counters().rejects[static_cast<int>(Reject::tunnel_gone)] == 2);
  CHECK(f.reg->counters().rejects[static_cast<int>(Reject::duplicate_tunnel)] == 2);
}

TEST_CASE("tunnel_registry: a vanished peer is reported with 1001") {
  Fixture f;
  REQUIRE(f.open_new(1, 1).ok());
  REQUIRE(f.open_connect(2, 1).ok());
  f.reg->on_closed(2, false, f.now);
  auto acts = f.actions();
  REQUIRE(acts.size() == 1);
  CHECK(is_close(acts[0], 1, CloseCode::going_away));
  CHECK(f.reg->gauges().connections == 0);
}

TEST_CASE("tunnel_registry: TTL expiry closes pending and paired tunnels with 1008") {
  ServerLimits l;
  l.tunnel_ttl = 5s;
  Fixture f(l);
  REQUIRE(f.open_new(1, 1).ok());
  REQUIRE(f.open_new(2, 2).ok());
  REQUIRE(f.open_connect(3, 2).ok());
  f.now += 4s;
  f.reg->tick(f.now);
  CHECK(f.actions().empty());
  f.now += 1s;
  f.reg->tick(f.now);
  auto acts = f.actions();
  REQUIRE(acts.size() == 3);
  for (auto& a : acts) CHECK(a.close_code == CloseCode::policy_violation);
  CHECK(f.reg->counters().ttl_expiries == 2);
  CHECK(f.reg->gauges().pending_tunnels == 0);
  CHECK(f.reg->gauges().paired_tunnels == 0);
  CHECK(f.open_connect(4, 1).status == 410);
}

TEST_CASE("tunnel_registry: idle paired tunnels are closed; pending ones wait for their TTL") {
  ServerLimits l;
  l.idle_timeout = 10s;
  Fixture f(l);
  REQUIRE(f.open_new(1, 1).ok());
  REQUIRE(f.open_new(2, 2).ok());
  REQUIRE(f.open_connect(3, 2).ok());
  f.now += 6s;
  f.reg->on_message(3, Bytes{1}, true, f.now);
  f.actions();
  f.now += 6s;
  f.reg->tick(f.now);
  CHECK(f.actions().empty());  // the message 6 s ago kept it alive
  f.now += 5s;
  f.reg->tick(f.now);
  auto acts = f.actions();
  REQUIRE(acts.size() == 2);
  CHECK(f.reg->counters().idle_timeouts == 1);
  CHECK(f.reg->gauges().pending_tunnels == 1);
}

TEST_CASE("tunnel_registry: message count, size and type limits close with 1008, 1009, 1003") {
  ServerLimits l;
  l.max_messages_per_side = 3;
  l.max_message_size = 100;
  SECTION("too many messages (queued ones count)") {
    Fixture f(l);
    REQUIRE(f.open_new(1, 1).ok());
    f.reg->on_message(1, Bytes{1}, true, f.now);
    f.reg->on_message(1, Bytes{2}, true, f.now);
    REQUIRE(f.open_connect(2, 1).ok());
    f.reg->on_message(1, Bytes{3}, true, f.now);
    f.reg->on_message(2, Bytes{9}, true, f.now);  // the other side has its own budget
    f.actions();
    f.reg->on_message(1, Bytes{4}, true, f.now);
    auto acts = f.actions();
    REQUIRE(acts.size() == 2);
    CHECK(is_close(acts[0], 1, CloseCode::policy_violation));
    CHECK(is_close(acts[1], 2, CloseCode::policy_violation));
    CHECK(f.reg->counters().rejects[static_cast<int>(Reject::too_many_messages)] == 1);
  }
  SECTION("too big") {
    Fixture f(l);
    REQUIRE(f.open_new(1, 1).ok());
    REQUIRE(f.open_connect(2, 1).ok());
    f.reg->on_message(2, Bytes(100, 0), true, f.now);
    REQUIRE(f.actions().size() == 1);
    f.reg->on_message(2, Bytes(101, 0), true, f.now);
    auto acts = f.actions();
    REQUIRE(acts.size() == 2);
    CHECK(is_close(acts[0], 2, CloseCode::message_too_big));
    CHECK(is_close(acts[1], 1, CloseCode::policy_violation));
  }
  SECTION("text frame") {
    Fixture f(l);
    REQUIRE(f.open_new(1, 1).ok());
    f.reg->on_message(1, Bytes{'h', 'i'}, false, f.now);
    auto acts = f.actions();
    REQUIRE(acts.size() == 1);
    CHECK(is_close(acts[0], 1, CloseCode::unsupported_data));
    CHECK(f.open_connect(2, 1).status == 410);
  }
}

TEST_CASE("tunnel_registry: close codes go out as RFC 6455's numbers, in close frames and metrics") {
  CHECK(wire_value(CloseCode::normal) == 1000);
  CHECK(wire_value(CloseCode::going_away) == 1001);
  CHECK(wire_value(CloseCode::unsupported_data) == 1003);
  CHECK(wire_value(CloseCode::policy_violation) == 1008);
  CHECK(wire_value(CloseCode::message_too_big) == 1009);
  ServerLimits l;
  l.max_message_size = 100;
  Fixture f(l);
  REQUIRE(f.open_new(1, 1).ok());
  REQUIRE(f.open_connect(2, 1).ok());
  f.reg->on_message(2, Bytes(101, 0), true, f.now);
  REQUIRE(f.actions().size() == 2);
  std::string text = render_metrics(f.reg->counters(), f.reg->gauges(), AdapterStats{});
  CHECK(text.find("hybrid_tunnel_closes_total{code=\"1009\"} 1\n") != std::string::npos);
  CHECK(text.find("hybrid_tunnel_closes_total{code=\"1008\"} 1\n") != std::string::npos);
}

TEST_CASE("tunnel_registry: pending tunnels per address, connection cap, refusal rate limit") {
  ServerLimits l;
  l.max_pending_per_ip = 2;
  l.max_connections = 5;
  l.max_refusals_per_ip_per_minute = 3;
  Fixture f(l);
  REQUIRE(f.open_new(1, 1).ok());
  REQUIRE(f.open_new(2, 2).ok());
  CHECK(f.open_new(3, 3).status == 429);
  REQUIRE(f.open_new(4, 3, "10.0.0.2").ok());  // another address is unaffected
  REQUIRE(f.open_connect(5, 1).ok());          // pairing frees a pending slot
  REQUIRE(f.open_new(6, 4).ok());
  CHECK(f.open_new(7, 5, "10.0.0.3").status == 503);  // 5 connections held
  f.reg->on_closed(6, true, f.now);
  // 10.0.0.1 has 1 refusal (the 429); two more and it is rate limited.
  CHECK(f.open_connect(8, 99).status == 404);
  CHECK(f.open_connect(9, 99).status == 404);
  CHECK(f.reg->rate_limited("10.0.0.1", f.now));
  CHECK(f.open_connect(10, 99).status == 429);
  CHECK_FALSE(f.reg->rate_limited("10.0.0.2", f.now));
  f.now += 61s;
  CHECK_FALSE(f.reg->rate_limited("10.0.0.1", f.now));
}

TEST_CASE("tunnel_registry: push channel registration, secret, contact and connect signal") {
  Fixture f;
  Bytes contact = {0xC0, 0x17, 0xAC, 0x7};
  auto push = [&](ConnId id, std::optional<std::string> secret) {
    UpgradeRequest r;
    r.path = PushRequest{contact};
    r.client_ip = "10.1.1.1";
    r.push_secret = std::move(secret);
    return f.reg->admit(id, r, f.now);
  };
  auto contact_req = [&](ConnId id, std::optional<std::string> payload, bool signal) {
    UpgradeRequest r;
    r.path = ContactRequest{contact};
    r.client_ip = "10.2.2.2";
    r.client_payload_hex = std::move(payload);
    r.signal_connection = signal;
    return f.reg->admit(id, r, f.now);
  };
  CHECK(contact_req(1, "A1", true).status == 410);  // nobody registered it
  CHECK(push(2, std::nullopt).status == 400);
  CHECK(push(3, "short").status == 400);
  REQUIRE(push(4, "secret-secret-secret").ok());
  CHECK(f.reg->counters().push_registrations == 1);
  CHECK(push(5, "another-secret-value").status == 403);

  auto c = contact_req(6, "A20102030405", true);
  REQUIRE(c.ok());
  CHECK(c.echo_signal_connection);
  auto acts = f.actions();
  REQUIRE(acts.size() == 1);
  CHECK(acts[0].conn == 4);
  auto msg = decode_push_message(acts[0].message);
  REQUIRE(msg.ok());
  CHECK(msg->routing_id == kRouting);
  CHECK(msg->client_payload == Bytes{0xA2, 0x01, 0x02, 0x03, 0x04, 0x05});
  // The client's first message waits for the phone.
  f.reg->on_message(6, Bytes{0x42}, true, f.now);
  CHECK(f.actions().empty());
  REQUIRE(f.open(7, ConnectRequest{msg->routing_id, msg->tunnel_id}).ok());
  acts = f.actions();
  REQUIRE(acts.size() == 2);
  CHECK(is_send(acts[0], 6, Bytes{0x00}));  // connect signal first, to the client
  CHECK(is_send(acts[1], 7, Bytes{0x42}));
  CHECK(contact_req(8, "zz", false).status == 400);

  SECTION("keepalives are echoed; other messages from the phone close it") {
    f.reg->on_message(4, Bytes{}, true, f.now);
    acts = f.actions();
    REQUIRE(acts.size() == 1);
    CHECK(is_send(acts[0], 4, Bytes{}));
    f.reg->on_message(4, Bytes{1}, true, f.now);
    acts = f.actions();
    REQUIRE(acts.size() == 1);
    CHECK(is_close(acts[0], 4, CloseCode::policy_violation));
  }
  SECTION("pushes wait for an offline phone; a re-registration receives them") {
    f.reg->on_closed(4, true, f.now);
    REQUIRE(contact_req(9, std::nullopt, false).ok());
    CHECK(f.actions().empty());
    REQUIRE(push(10, "secret-secret-secret").ok());
    acts = f.actions();
    REQUIRE(acts.size() == 1);
    CHECK(acts[0].conn == 10);
    CHECK(decode_push_message(acts[0].message)->client_payload.empty());
  }
  SECTION("a newer listener replaces the older one") {
    REQUIRE(push(11, "secret-secret-secret").ok());
    acts = f.actions();
    REQUIRE(acts.size() == 1);
    CHECK(is_close(acts[0], 4, CloseCode::normal));
    CHECK(f.reg->gauges().push_listeners == 1);
  }
  SECTION("a silent listener is closed after the push idle timeout") {
    f.now += f.limits.push_idle_timeout;
    f.reg->tick(f.now);
    acts = f.actions();
    bool closed = false;
    for (auto& a : acts) closed |= is_close(a, 4, CloseCode::policy_violation);
    CHECK(closed);
  }
}

TEST_CASE("tunnel_registry: tables return to empty after churn and shutdown closes with 1001") {
  ServerLimits l;
  l.tunnel_ttl = 2s;
  l.max_refusals_per_ip_per_minute = 100000;
  Fixture f(l);
  ConnId id = 1;
  for (int i = 0; i < 2000; ++i) {
    TunnelId t;
    t.bytes.fill(0);
    t.bytes[0] = static_cast<uint8_t>(i), t.bytes[1] = static_cast<uint8_t>(i >> 8);
    std::string ip = "10.9." + std::to_string(i % 50) + ".1";
    REQUIRE(f.open(id++, NewTunnelRequest{t}, ip).ok());
    if (i % 2) {
      REQUIRE(f.open(id, ConnectRequest{kRouting, t}).ok());
      f.reg->on_message(id, Bytes{1}, true, f.now);
      f.reg->on_closed(id++, true, f.now);
    }
    CHECK(f.open(id++, ConnectRequest{kRouting, tid(0xEE)}, "10.8.0.1").status == 404);
  }
  f.actions();
  REQUIRE(f.open_new(id++, 0xAB).ok());
  f.reg->shut_down();
  auto acts = f.actions();
  CHECK(acts.size() == 1001);  // 1000 pending + 1 fresh
  for (auto& a : acts) CHECK(a.close_code == CloseCode::going_away);
  CHECK(f.open_new(id++, 0xAC).status == 503);
  f.now += 120s;
  f.reg->tick(f.now);
  auto g = f.reg->gauges();
  CHECK(g.connections == 0);
  CHECK(g.pending_tunnels == 0);
  CHECK(g.ended_tunnels_remembered == 0);
  CHECK(g.tracked_ips == 0);
}

// Issue 15 finding 2: push registrations expire, are capped per address and globally (the
// oldest idle one makes room), every kind of connection counts against its address, and the
// bytes queued on the node are bounded.
namespace {

Bytes contact_id(uint32_t n) { return Bytes{0xC0, uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)}; }

Admission push_from(Fixture& f, ConnId id, uint32_t n, const std::string& ip, std::string secret = "secret-secret-secret") {
  UpgradeRequest r;
  r.path = PushRequest{contact_id(n)};
  r.client_ip = ip;
  r.push_secret = std::move(secret);
  return f.reg->admit(id, r, f.now);
}

Admission contact_for(Fixture& f, ConnId id, uint32_t n, const std::string& ip = "10.7.7.7") {
  UpgradeRequest r;
  r.path = ContactRequest{contact_id(n)};
  r.client_ip = ip;
  return f.reg->admit(id, r, f.now);
}

}  // namespace

TEST_CASE("tunnel_registry: one address cannot fill the registration table; another phone still registers") {
  ServerLimits l;
  l.max_push_registrations = 1000;
  l.max_push_registrations_per_ip = 50;
  l.max_refusals_per_ip_per_minute = 1000000;
  Fixture f(l);
  ConnId id = 1;
  uint32_t refused_429 = 0;
  for (uint32_t n = 0; n < 1000; ++n) {
    auto a = push_from(f, id, n, "10.66.0.1");
    if (a.ok()) f.reg->on_closed(id, false, f.now);  // the flooder does not stay connected
    else refused_429 += a.status == 429;
    ++id;
  }
  CHECK(refused_429 == 950);
  CHECK(f.reg->gauges().push_registrations == 50);
  CHECK(f.reg->counters().rejects[static_cast<int>(Reject::registration_limit)] == 950);
  auto phone = push_from(f, id++, 999999, "10.1.2.3");
  CHECK(phone.ok());
  CHECK(phone.status == 101);
}

TEST_CASE("tunnel_registry: renewing from a second address cannot lift the per-address registration cap") {
  // Two addresses, cap 2: A registers two, B renews them (a phone that moved networks), A
  // registers two more, B renews those too. B must not end up owning four: a registration
  // moves to its new address only when that address has room, else the old one keeps it.
  ServerLimits l;
  l.max_push_registrations_per_ip = 2;
  l.max_refusals_per_ip_per_minute = 1000000;
  Fixture f(l);
  ConnId id = 1;
  for (uint32_t round = 0; round < 2; ++round) {
    for (uint32_t n = round * 2; n < round * 2 + 2; ++n) {
      REQUIRE(push_from(f, id, n, "10.66.0.1").ok());
      f.reg->on_closed(id++, false, f.now);
      REQUIRE(push_from(f, id, n, "10.66.0.2").ok());  // the renewal itself always succeeds
      f.reg->on_closed(id++, false, f.now);
    }
  }
  f.actions();
  CHECK(f.reg->gauges().push_registrations == 4);
  // Both addresses are at their cap now: neither may add a fifth one.
  CHECK(push_from(f, id++, 100, "10.66.0.1").status == 429);
  CHECK(push_from(f, id++, 101, "10.66.0.2").status == 429);
  CHECK(push_from(f, id++, 102, "10.66.0.3").ok());
}

TEST_CASE("tunnel_registry: a full registration table evicts the phone away longest, never a connected one") {
  ServerLimits l;
  l.max_push_registrations = 3;
  Fixture f(l);
  REQUIRE(push_from(f, 1, 1, "10.0.0.1").ok());
  f.now += 10s;
  REQUIRE(push_from(f, 2, 2, "10.0.0.2").ok());
  f.now += 10s;
  REQUIRE(push_from(f, 3, 3, "10.0.0.3").ok());
  // Every phone is connected: nothing may be evicted.
  CHECK(push_from(f, 4, 4, "10.0.0.4").status == 503);
  // Phone 2 leaves first, then phone 1 (whose last sign of life is older: it registered first).
  f.now += 1s;
  f.reg->on_closed(2, true, f.now);
  f.now += 1s;
  f.reg->on_message(1, Bytes{}, true, f.now);  // a keepalive renews phone 1
  f.reg->on_closed(1, true, f.now);
  f.actions();
  REQUIRE(push_from(f, 5, 4, "10.0.0.4").ok());
  CHECK(f.reg->counters().push_registrations_evicted == 1);
  CHECK(contact_for(f, 6, 2).status == 410);  // phone 2 was evicted
  CHECK(contact_for(f, 7, 1).ok());           // phone 1 renewed later: kept
  CHECK(contact_for(f, 8, 3).ok());
  CHECK(f.reg->gauges().push_registrations == 3);
}

TEST_CASE("tunnel_registry: a registration expires when its phone stays away; keepalives and reconnects renew it") {
  ServerLimits l;
  l.push_registration_lifetime = 60s;
  l.push_idle_timeout = 3600s;
  Fixture f(l);
  REQUIRE(push_from(f, 1, 1, "10.0.0.1").ok());
  // Connected for twice the lifetime, with keepalives: still registered.
  for (int i = 0; i < 12; ++i) {
    f.now += 10s;
    f.reg->on_message(1, Bytes{}, true, f.now);
    f.reg->tick(f.now);
  }
  f.reg->on_closed(1, true, f.now);
  f.now += 50s;
  f.reg->tick(f.now);
  CHECK(f.reg->gauges().push_registrations == 1);
  // A reconnect renews it.
  REQUIRE(push_from(f, 2, 1, "10.0.0.9").ok());
  f.reg->on_closed(2, true, f.now);
  f.now += 50s;
  f.reg->tick(f.now);
  CHECK(f.reg->gauges().push_registrations == 1);
  f.now += 10s;
  f.reg->tick(f.now);
  CHECK(f.reg->gauges().push_registrations == 0);
  CHECK(f.reg->counters().push_registrations_expired == 1);
  CHECK(contact_for(f, 3, 1).status == 410);
  CHECK(f.reg->gauges().tracked_ips <= 1);  // the owner's record went with it
}

TEST_CASE("tunnel_registry: every kind of connection counts against its address") {
  ServerLimits l;
  l.max_connections_per_ip = 5;
  Fixture f(l);
  // Self-paired tunnels: /new and /connect from one address (no pending tunnel remains).
  REQUIRE(f.open_new(1, 1, "10.5.0.1").ok());
  REQUIRE(f.open(2, ConnectRequest{kRouting, tid(1)}, "10.5.0.1").ok());
  REQUIRE(f.open_new(3, 2, "10.5.0.1").ok());
  REQUIRE(f.open(4, ConnectRequest{kRouting, tid(2)}, "10.5.0.1").ok());
  REQUIRE(push_from(f, 5, 1, "10.5.0.1").ok());  // and a push listener
  CHECK(f.reg->gauges().pending_tunnels == 0);
  CHECK(f.open_new(6, 3, "10.5.0.1").status == 429);
  CHECK(push_from(f, 7, 2, "10.5.0.1").status == 429);
  CHECK(f.reg->counters().rejects[static_cast<int>(Reject::connection_limit)] == 2);
  CHECK(f.open_new(8, 3, "10.5.0.2").ok());  // another address is not affected
  // Closing frees the slots.
  f.reg->on_closed(1, true, f.now);
  f.reg->on_closed(5, true, f.now);
  CHECK(f.open_new(9, 4, "10.5.0.1").ok());
}

TEST_CASE("tunnel_registry: bytes queued for absent peers are bounded over the whole node") {
  ServerLimits l;
  l.max_queued_bytes = 3000;
  l.max_message_size = 2000;
  Fixture f(l);
  REQUIRE(f.open_new(1, 1, "10.0.0.1").ok());
  REQUIRE(f.open_new(2, 2, "10.0.0.2").ok());
  f.reg->on_message(1, Bytes(1500, 1), true, f.now);
  f.reg->on_message(2, Bytes(1400, 2), true, f.now);
  CHECK(f.reg->gauges().queued_bytes == 2900);
  CHECK(f.actions().empty());
  f.reg->on_message(2, Bytes(200, 3), true, f.now);  // would pass 3000 over the node
  auto acts = f.actions();
  bool closed = false;
  for (auto& a : acts) closed |= is_close(a, 2, CloseCode::policy_violation);
  CHECK(closed);
  CHECK(f.reg->counters().rejects[static_cast<int>(Reject::queue_full)] == 1);
  CHECK(f.reg->gauges().queued_bytes == 1500);  // tunnel 2 ended: its queue is freed
  REQUIRE(f.open_connect(3, 1).ok());           // delivered on the join
  CHECK(f.reg->gauges().queued_bytes == 0);
}
