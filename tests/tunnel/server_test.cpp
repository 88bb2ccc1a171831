// A real tunnel server on 127.0.0.1 (port 0) driven by our client and by raw sockets:
// pairing and relaying, queued-before-join, every status code, TTL expiry, message limits,
// TLS with a test CA (and a wrong one), redirects, the push channel, and each client error.
#include <catch2/catch.hpp>

#include "hybrid/constants.h"
#include "support.h"
#include "tests/support/running_tunnel_server.h"
#include "tunnel/client.h"
#include "tunnel/path.h"
#include "tunnel/push_message.h"
#include "tunnel/server.h"

using namespace hybrid;
using namespace hybrid::tunnel;
using namespace tunnel_test;
using namespace std::chrono_literals;

namespace {

const RoutingId kRouting = *RoutingId::from_hex("2A0000", "r");

ServerConfig server_config(ServerLimits limits, std::string cert, std::string key, bool trust_xff) {
  ServerConfig c;
  c.trust_forwarded_for = trust_xff;
  c.routing_id = kRouting;
  c.limits = limits;
  c.tls_cert_file = std::move(cert);
  c.tls_key_file = std::move(key);
  return c;
}

struct Server : hybrid::test::RunningTunnelServer {
  explicit Server(ServerLimits limits = {}, std::string cert = "", std::string key = "", bool trust_xff = false)
      : RunningTunnelServer(server_config(limits, std::move(cert), std::move(key), trust_xff)) {}
  std::string url(const std::string& path) const { return server->url() + path; }
  uint16_t port() const { return server->port(); }
};

TunnelId random_tunnel() {
  return *TunnelId::from_hex(random_hex(16), "t");
}

ConnectOptions fast(std::chrono::milliseconds timeout = 5s) {
  ConnectOptions o;
  o.timeout = timeout;
  return o;
}

std::unique_ptr<TunnelConnection> must_connect(const std::string& url, const ConnectOptions& o = fast()) {
  auto c = TunnelConnection::connect(url, o);
  INFO(url << ": " << (c ? "" : c.error().message));
  REQUIRE(c.ok());
  return std::move(*c);
}

// Opens a tunnel as the phone (through the client library) and joins it as a raw client
// whose frames the test writes by hand; returns the phone's side.
std::unique_ptr<TunnelConnection> open_with_raw_client(const Server& srv, RawSocket& raw) {
  auto id = random_tunnel();
  auto phone = must_connect(srv.url(new_tunnel_path(id)));
  REQUIRE(raw.connect(srv.port()));
  REQUIRE(raw.send_all(upgrade_request(connect_path(kRouting, id))));
  REQUIRE(raw.read_status(3s) == 101);
  return phone;
}

int raw_status(uint16_t port, const std::string& request, std::string* head = nullptr) {
  RawSocket s;
  REQUIRE(s.connect(port));
  REQUIRE(s.send_all(request));
  return s.read_status(3s, head);
}

}  // namespace

TEST_CASE("tunnel_server: /new then /connect pairs, relays whole messages both ways, closes the peer") {
  Server srv;
  auto id = random_tunnel();
  auto phone = must_connect(srv.url(new_tunnel_path(id)));
  REQUIRE(phone->info().routing_id);
  CHECK(phone->info().routing_id->hex_upper() == "2A0000");
  // Sent before the client joins: queued, then delivered in order.
  REQUIRE(phone->send(Bytes{0xAA}).ok());
  REQUIRE(phone->send(Bytes(5000, 0x55)).ok());
  // Lower-case hex in the path is accepted (libwebauthn, microG).
  auto client = must_connect(srv.url("/cable/connect/2a0000/" + id.hex()));
  CHECK_FALSE(client->info().routing_id);
  auto m1 = client->receive(3s);
  REQUIRE(m1.ok());
  CHECK(*m1 == Bytes{0xAA});
  auto m2 = client->receive(3s);
  REQUIRE(m2.ok());
  CHECK(*m2 == Bytes(5000, 0x55));
  for (int i = 0; i < 5; ++i) {
    Bytes msg(static_cast<size_t>(i * 100 + 1), static_cast<uint8_t>(i));
    REQUIRE(client->send(msg).ok());
    auto got = phone->receive(3s);
    REQUIRE(got.ok());
    CHECK(*got == msg);
  }
  REQUIRE(client->send(Bytes{}).ok());  // an empty message is a message
  auto empty = phone->receive(3s);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  phone->close();
  auto end = client->receive(3s);
  REQUIRE_FALSE(end.ok());
  CHECK(has_code(end.error(), ClientErrorCode::peer_closed));
  CHECK(end.error().message.find("1000") != std::string::npos);
}

TEST_CASE("tunnel_server: status codes 400, 404, 405, 409, 410 as real HTTP/1.1 responses") {
  Server srv;
  auto id = random_tunnel();
  std::string head;
  // 400: no fido.cable subprotocol (Google's behaviour, docs/protocol.md §7.1), or another one.
  CHECK(raw_status(srv.port(), upgrade_request(new_tunnel_path(id), nullptr), &head) == 400);
  CHECK(head.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(raw_status(srv.port(), upgrade_request(new_tunnel_path(id), "chat, superchat")) == 400);
  // 400: a tunnel path fetched without an upgrade.
  CHECK(raw_status(srv.port(), "GET " + new_tunnel_path(id) + " HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
  // 405: not GET.
  CHECK(raw_status(srv.port(), "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &head) == 405);
  CHECK(head.find("Allow: GET") != std::string::npos);
  // 404: garbage path, unknown tunnel, another node's routing id.
  CHECK(raw_status(srv.port(), upgrade_request("/cable/new/xyz")) == 404);
  auto unknown = TunnelConnection::connect(srv.url(connect_path(kRouting, id)), fast());
  REQUIRE_FALSE(unknown.ok());
  CHECK(http_status(unknown.error()) == 404);
  CHECK_FALSE(is_gone(unknown.error()));
  auto other = TunnelConnection::connect(srv.url(connect_path(*RoutingId::from_hex("ABCDEF", "r"), id)), fast());
  REQUIRE_FALSE(other.ok());
  CHECK(http_status(other.error()) == 404);
  // 409: duplicate /new.
  auto phone = must_connect(srv.url(new_tunnel_path(id)));
  auto dup = TunnelConnection::connect(srv.url(new_tunnel_path(id)), fast());
  REQUIRE_FALSE(dup.ok());
  CHECK(http_status(dup.error()) == 409);
  // 410: a third party for a full tunnel, then for an ended one.
  auto client = must_connect(srv.url(connect_path(kRouting, id)));
  auto third = TunnelConnection::connect(srv.url(connect_path(kRouting, id)), fast());
  REQUIRE_FALSE(third.ok());
  CHECK(is_gone(third.error()));
  client->close();
  REQUIRE_FALSE(phone->receive(3s).ok());
  auto late = TunnelConnection::connect(srv.url(connect_path(kRouting, id)), fast());
  REQUIRE_FALSE(late.ok());
  CHECK(is_gone(late.error()));
  // 410: a contact id nobody registered ("forget this link").
  auto contact = TunnelConnection::connect(srv.url(contact_path(Bytes{1, 2, 3})), fast());
  REQUIRE_FALSE(contact.ok());
  CHECK(is_gone(contact.error()));
  // Operations endpoints.
  CHECK(raw_status(srv.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 200);
  RawSocket m;
  REQUIRE(m.connect(srv.port()));
  REQUIRE(m.send_all(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")));
  REQUIRE(m.read_status(3s) == 200);
  REQUIRE(m.wait_closed(3s));
  const std::string& body = m.buffered();
  CHECK(body.find("hybrid_tunnel_rejects_total{reason=\"duplicate_tunnel\"} 1") != std::string::npos);
  CHECK(body.find("hybrid_tunnel_rejects_total{reason=\"no_subprotocol\"} 2") != std::string::npos);
  CHECK(body.find("hybrid_tunnel_pairings_total 1") != std::string::npos);
}

TEST_CASE("tunnel_server: TTL expiry closes a pending tunnel with 1008 and /connect then gets 410") {
  ServerLimits l;
  l.tunnel_ttl = 1s;
  Server srv(l);
  auto id = random_tunnel();
  auto phone = must_connect(srv.url(new_tunnel_path(id)));
  auto t0 = std::chrono::steady_clock::now();
  auto r = phone->receive(4s);
  REQUIRE_FALSE(r.ok());
  CHECK(has_code(r.error(), ClientErrorCode::peer_closed));
  CHECK(r.error().message.find("1008") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  auto late = TunnelConnection::connect(srv.url(connect_path(kRouting, id)), fast());
  REQUIRE_FALSE(late.ok());
  CHECK(is_gone(late.error()));
}

TEST_CASE("tunnel_server: message count and size limits close with 1008 and 1009; text frames with 1003") {
  ServerLimits l;
  l.max_messages_per_side = 3;
  l.max_message_size = 1024;
  Server srv(l);
  SECTION("count") {
    auto id = random_tunnel();
    auto phone = must_connect(srv.url(new_tunnel_path(id)));
    auto client = must_connect(srv.url(connect_path(kRouting, id)));
    for (int i = 0; i < 3; ++i) {
      REQUIRE(client->send(Bytes{static_cast<uint8_t>(i)}).ok());
      REQUIRE(phone->receive(3s).ok());
    }
    REQUIRE(client->send(Bytes{9}).ok());
    auto r = client->receive(3s);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("1008") != std::string::npos);
    auto p = phone->receive(3s);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message.find("1008") != std::string::npos);
  }
  SECTION("size, sent in one frame or in fragments") {
    for (bool fragmented : {false, true}) {
      RawSocket raw;
      auto phone = open_with_raw_client(srv, raw);
      REQUIRE(raw.send_all(client_frame(2, Bytes(1024, 1))));  // exactly the limit: relayed
      auto ok = phone->receive(3s);
      REQUIRE(ok.ok());
      CHECK(ok->size() == 1024);
      if (fragmented) {
        REQUIRE(raw.send_all(client_frame(2, Bytes(600, 2), false)));
        REQUIRE(raw.send_all(client_frame(0, Bytes(600, 2), true)));
      } else {
        REQUIRE(raw.send_all(client_frame(2, Bytes(1025, 2))));
      }
      auto f = raw.read_frame(3s);
      CHECK(close_code(f) == 1009);
      auto p = phone->receive(3s);
      REQUIRE_FALSE(p.ok());
      CHECK(p.error().message.find("1008") != std::string::npos);
    }
  }
  SECTION("text") {
    RawSocket raw;
    auto phone = open_with_raw_client(srv, raw);
    REQUIRE(raw.send_all(client_frame(1, Bytes{'h', 'i'})));
    CHECK(close_code(raw.read_frame(3s)) == 1003);
    REQUIRE_FALSE(phone->receive(3s).ok());
  }
}

TEST_CASE("tunnel_server: push channel round trip with client payload and connect signal") {
  Server srv;
  Bytes contact_id = {0x70, 0x68, 0x6f, 0x6e, 0x65, 0x2d, 0x31};
  ConnectOptions reg = fast();
  reg.headers = {{"X-caBLE-Push-Secret", "0123456789abcdef0123456789abcdef"}};
  auto listener = must_connect(srv.url(push_path(contact_id)), reg);
  // Keepalive: an empty message is answered with one.
  REQUIRE(listener->send(Bytes{}).ok());
  auto ka = listener->receive(3s);
  REQUIRE(ka.ok());
  CHECK(ka->empty());
  // Somebody else cannot take the contact id over.
  ConnectOptions thief = fast();
  thief.headers = {{"X-caBLE-Push-Secret", "not-the-right-secret-at-all"}};
  auto stolen = TunnelConnection::connect(srv.url(push_path(contact_id)), thief);
  REQUIRE_FALSE(stolen.ok());
  CHECK(http_status(stolen.error()) == 403);

  Bytes payload = {0xA3, 0x01, 0x48, 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0x41, 0x09, 0x03, 0x62, 'g', 'a'};
  ConnectOptions co = fast();
  co.headers = {{"X-caBLE-Client-Payload", hex_encode_upper(payload)}, {"X-caBLE-Signal-Connection", "true"}};
  auto client = must_connect(srv.url(contact_path(contact_id)), co);
  CHECK(client->info().signal_connection);
  REQUIRE(client->send(Bytes{0x11, 0x22}).ok());  // before the phone joins: queued

  auto pushed = listener->receive(3s);
  REQUIRE(pushed.ok());
  auto push = decode_push_message(*pushed);
  REQUIRE(push.ok());
  CHECK(push->routing_id == kRouting);
  CHECK(push->client_payload == payload);
  auto phone = must_connect(srv.url(connect_path(push->routing_id, push->tunnel_id)));
  auto signal = client->receive(3s);
  REQUIRE(signal.ok());
  CHECK(*signal == Bytes{kConnectSignal});
  auto first = phone->receive(3s);
  REQUIRE(first.ok());
  CHECK(*first == Bytes{0x11, 0x22});
  REQUIRE(phone->send(Bytes{0x33}).ok());
  auto reply = client->receive(3s);
  REQUIRE(reply.ok());
  CHECK(*reply == Bytes{0x33});

  // Without the signal header there is no echo and no 0x00 message.
  ConnectOptions quiet = fast();
  quiet.headers = {{"X-caBLE-Client-Payload", "A0"}};
  auto client2 = must_connect(srv.url(contact_path(contact_id)), quiet);
  CHECK_FALSE(client2->info().signal_connection);
  auto push2 = decode_push_message(*listener->receive(3s));
  REQUIRE(push2.ok());
  CHECK(push2->tunnel_id != push->tunnel_id);
  auto phone2 = must_connect(srv.url(connect_path(push2->routing_id, push2->tunnel_id)));
  REQUIRE(phone2->send(Bytes{0x44}).ok());
  auto r2 = client2->receive(3s);
  REQUIRE(r2.ok());
  CHECK(*r2 == Bytes{0x44});
}

TEST_CASE("tunnel_server: the client follows up to 5 redirects, relative and absolute; headers only to the same origin") {
  Server srv;
  Bytes contact_id = {9, 9, 9};
  ConnectOptions reg = fast();
  reg.headers = {{"X-caBLE-Push-Secret", "0123456789abcdef0123456789abcdef"}};
  auto listener = must_connect(srv.url(push_path(contact_id)), reg);
  std::string target = srv.url(contact_path(contact_id));
  CannedHttpServer redirector([&](const std::string& path) {
    if (path == "/start") return redirect_response(302, "/next/hop");  // relative
    if (path == "/next/hop") return redirect_response(307, "again");   // relative to /next/
    if (path == "/next/again") return redirect_response(301, target);  // absolute, to the real server
    if (path.rfind("/loop", 0) == 0) return redirect_response(302, "/loop" + std::to_string(path.size()));
    return std::string("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
  });
  std::string base = "ws://127.0.0.1:" + std::to_string(redirector.port());
  ConnectOptions co = fast();
  co.headers = {{"X-caBLE-Client-Payload", "A1"}};
  auto client = must_connect(base + "/start", co);
  CHECK(client->info().redirects == 3);
  CHECK(client->info().url == target);
  auto push = decode_push_message(*listener->receive(3s));
  REQUIRE(push.ok());
  // Two same-origin hops carried the header; the hop to another origin (the real server on
  // another port) did not get it (issue 15 finding 4).
  CHECK(push->client_payload.empty());
  auto seen = redirector.requests();
  REQUIRE(seen.size() >= 3);
  for (size_t i = 0; i < 3; ++i) CHECK_THAT(seen[i], Catch::Contains("X-caBLE-Client-Payload: A1"));

  auto loop = TunnelConnection::connect(base + "/loop", fast());
  REQUIRE_FALSE(loop.ok());
  CHECK(has_code(loop.error(), ClientErrorCode::too_many_redirects));
  CHECK(redirector.connections() == 3 + 6);  // the first request and 5 redirects, no more

  auto bad = TunnelConnection::connect(base + "/other", fast());
  REQUIRE_FALSE(bad.ok());
  CHECK(http_status(bad.error()) == 502);
}

TEST_CASE("tunnel_server: TLS with a test CA; a wrong CA or the system store fails with a TLS error") {
  TestPki pki;
  REQUIRE(pki.ok);
  Server srv({}, pki.server_cert, pki.server_key);
  CHECK(srv.server->url().rfind("wss://127.0.0.1:", 0) == 0);
  auto id = random_tunnel();
  ConnectOptions good = fast();
  good.ca_file = pki.ca_cert;
  auto phone = must_connect(srv.url(new_tunnel_path(id)), good);
  auto client = must_connect(srv.url(connect_path(kRouting, id)), good);
  REQUIRE(client->send(Bytes{1, 2, 3}).ok());
  auto got = phone->receive(3s);
  REQUIRE(got.ok());
  CHECK(*got == Bytes{1, 2, 3});

  ConnectOptions wrong = fast();
  wrong.ca_file = pki.other_ca_cert;
  auto w = TunnelConnection::connect(srv.url(new_tunnel_path(random_tunnel())), wrong);
  REQUIRE_FALSE(w.ok());
  INFO(w.error().message);
  CHECK(has_code(w.error(), ClientErrorCode::tls));
  auto sys = TunnelConnection::connect(srv.url(new_tunnel_path(random_tunnel())), fast());
  REQUIRE_FALSE(sys.ok());
  INFO(sys.error().message);
  CHECK(has_code(sys.error(), ClientErrorCode::tls));
}

TEST_CASE("tunnel_server: client errors for a refused port, a silent server and a bad URL") {
  uint16_t closed_port;
  {
    CannedHttpServer tmp([](const std::string&) { return std::string("x"); });
    closed_port = tmp.port();
  }
  auto refused = TunnelConnection::connect("ws://127.0.0.1:" + std::to_string(closed_port) + "/cable/new/00", fast());
  REQUIRE_FALSE(refused.ok());
  INFO(refused.error().message);
  CHECK(has_code(refused.error(), ClientErrorCode::network));

  CannedHttpServer silent([](const std::string&) { return std::string(); });
  auto t0 = std::chrono::steady_clock::now();
  auto slow = TunnelConnection::connect("ws://127.0.0.1:" + std::to_string(silent.port()) + "/x", fast(700ms));
  REQUIRE_FALSE(slow.ok());
  INFO(slow.error().message);
  CHECK(has_code(slow.error(), ClientErrorCode::timeout));
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);

  auto bad = TunnelConnection::connect("http//nope", fast());
  REQUIRE_FALSE(bad.ok());
  CHECK(has_code(bad.error(), ClientErrorCode::invalid_url));
}

TEST_CASE("tunnel_server: graceful stop closes open tunnels with 1001") {
  auto srv = std::make_unique<Server>();
  auto id = random_tunnel();
  auto phone = must_connect(srv->url(new_tunnel_path(id)));
  auto client = must_connect(srv->url(connect_path(kRouting, id)));
  srv.reset();
  auto r = phone->receive(3s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("1001") != std::string::npos);
}

TEST_CASE("tunnel_server: per-address pending limit, by peer or by X-Forwarded-For behind a proxy") {
  ServerLimits l;
  l.max_pending_per_ip = 1;
  auto open_new = [](uint16_t port, const std::string& extra) {
    auto s = std::make_unique<RawSocket>();
    REQUIRE(s->connect(port));
    REQUIRE(s->send_all(upgrade_request(new_tunnel_path(random_tunnel()), "fido.cable", extra)));
    int st = s->read_status(3s);
    return std::make_pair(st, std::move(s));
  };
  {
    Server direct(l);
    auto a = open_new(direct.port(), "X-Forwarded-For: 10.0.0.1\r\n");
    CHECK(a.first == 101);
    auto b = open_new(direct.port(), "X-Forwarded-For: 10.0.0.2\r\n");  // ignored: same peer
    CHECK(b.first == 429);
  }
  {
    Server proxied(l, "", "", true);
    auto a = open_new(proxied.port(), "X-Forwarded-For: 192.0.2.7, 10.0.0.1\r\n");
    CHECK(a.first == 101);
    auto b = open_new(proxied.port(), "X-Forwarded-For: 10.0.0.2\r\n");
    CHECK(b.first == 101);
    auto c = open_new(proxied.port(), "X-Forwarded-For: 10.0.0.1\r\n");
    CHECK(c.first == 429);
  }
}

TEST_CASE("tunnel_server: drain refuses new work, answers /healthz 503, lets tunnels finish, then stops") {
  ServerLimits limits;
  limits.push_idle_timeout = std::chrono::seconds(7);
  Server srv(limits);
  // A paired tunnel, a pending one, and a push listener (which learns the idle timeout).
  auto id = random_tunnel();
  auto phone = must_connect(srv.url(new_tunnel_path(id)));
  auto client = must_connect(srv.url(connect_path(kRouting, id)));
  auto pending_id = random_tunnel();
  auto pending = must_connect(srv.url(new_tunnel_path(pending_id)));
  ConnectOptions reg = fast();
  reg.headers = {{"X-caBLE-Push-Secret", "drain-test-secret-0001"}};
  auto listener = must_connect(srv.url(push_path(Bytes{1, 2, 3})), reg);
  REQUIRE(listener->info().push_idle_timeout_seconds);
  CHECK(*listener->info().push_idle_timeout_seconds == 7);
  CHECK(raw_status(srv.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 200);

  srv.server->drain();
  // The push listener is told to go elsewhere at once.
  auto gone = listener->receive(3s);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().message.find("1001") != std::string::npos);
  CHECK(gone.error().message.find("draining") != std::string::npos);
  CHECK(raw_status(srv.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 503);
  auto refused = TunnelConnection::connect(srv.url(new_tunnel_path(random_tunnel())), fast());
  REQUIRE_FALSE(refused.ok());
  CHECK(http_status(refused.error()) == 503);
  auto reg_refused = TunnelConnection::connect(srv.url(push_path(Bytes{4, 5, 6})), reg);
  REQUIRE_FALSE(reg_refused.ok());
  CHECK(http_status(reg_refused.error()) == 503);
  // Tunnels keep working: the paired one relays, the pending one can still be joined.
  REQUIRE(phone->send(Bytes{0x01}).ok());
  auto relayed = client->receive(3s);
  REQUIRE(relayed.ok());
  CHECK(*relayed == Bytes{0x01});
  auto joiner = must_connect(srv.url(connect_path(kRouting, pending_id)));
  REQUIRE(joiner->send(Bytes{0x02}).ok());
  auto got = pending->receive(3s);
  REQUIRE(got.ok());
  CHECK(*got == Bytes{0x02});
  // When the last tunnel ends, the node stops by itself.
  phone->close();
  pending->close();
  auto t0 = std::chrono::steady_clock::now();
  srv.server->join();
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}

// Issue 15 finding 4: a redirect to another host must not receive the push secret or the
// client payload. Two servers: a redirector, and the "other host" that records what it got.
TEST_CASE("tunnel_server: secret-bearing headers are not sent to another origin after a redirect") {
  CannedHttpServer other([](const std::string&) {
    return std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
  const std::string elsewhere = "ws://127.0.0.1:" + std::to_string(other.port());  // another port: another origin
  CannedHttpServer redirector([&](const std::string& path) {
    if (path == "/cable/push/AAAA") return redirect_response(302, elsewhere + "/cable/push/AAAA");
    if (path == "/cable/contact/AAAA") return redirect_response(307, elsewhere + "/cable/contact/AAAA");
    if (path == "/same") return redirect_response(302, "/cable/push/BBBB");  // same origin
    return std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
  const std::string base = "ws://127.0.0.1:" + std::to_string(redirector.port());
  ConnectOptions push = fast();
  push.headers = {{"X-caBLE-Push-Secret", "0123456789abcdef0123456789abcdef"}};
  auto p = TunnelConnection::connect(base + "/cable/push/AAAA", push);
  REQUIRE_FALSE(p.ok());
  CHECK(http_status(p.error()) == 404);  // it did reach the other host
  ConnectOptions contact = fast();
  contact.headers = {{"X-caBLE-Client-Payload", "A1B2"}};
  auto c = TunnelConnection::connect(base + "/cable/contact/AAAA", contact);
  REQUIRE_FALSE(c.ok());
  auto got = other.requests();
  REQUIRE(got.size() == 2);
  for (const auto& r : got) {
    CHECK(r.find("0123456789abcdef0123456789abcdef") == std::string::npos);
    CHECK(r.find("A1B2") == std::string::npos);
    CHECK(r.find("X-caBLE-") == std::string::npos);
  }
  // The redirector itself (the origin the caller chose) got them, also after a same-origin hop.
  auto s = TunnelConnection::connect(base + "/same", push);
  REQUIRE_FALSE(s.ok());
  auto mine = redirector.requests();
  REQUIRE(mine.size() == 4);
  CHECK_THAT(mine[3], Catch::Contains("/cable/push/BBBB"));
  CHECK_THAT(mine[3], Catch::Contains("0123456789abcdef0123456789abcdef"));
}
