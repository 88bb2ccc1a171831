// The tunnel's sans-I/O grammar: request paths (docs/protocol.md §6.4, §7.2, vectors §13), ws URLs and
// redirect resolution (vectors §13, libwebauthn's resolve_redirect test), push messages.
#include <catch2/catch.hpp>

#include "cbor/codec.h"
#include "tunnel/path.h"
#include "tunnel/push_message.h"
#include "tunnel/url.h"

using namespace hybrid;
using namespace hybrid::tunnel;

TEST_CASE("tunnel_path: /cable/new accepts 32 hex digits in either case") {
  auto upper = parse_request_path("/cable/new/0123456789ABCDEF0123456789ABCDEF");
  auto lower = parse_request_path("/cable/new/0123456789abcdef0123456789abcdef");
  REQUIRE(upper.ok());
  REQUIRE(lower.ok());
  auto& a = std::get<NewTunnelRequest>(*upper);
  auto& b = std::get<NewTunnelRequest>(*lower);
  CHECK(a.tunnel_id == b.tunnel_id);
  CHECK(a.tunnel_id.bytes[0] == 0x01);
  CHECK(a.tunnel_id.bytes[15] == 0xEF);
  CHECK(new_tunnel_path(a.tunnel_id) == "/cable/new/0123456789ABCDEF0123456789ABCDEF");
}

TEST_CASE("tunnel_path: /cable/connect from libwebauthn's real lower-case request (vectors §13)") {
  auto p = parse_request_path("/cable/connect/078f8a/4daa63321c9414caecee728764b0b3c9");
  REQUIRE(p.ok());
  auto& c = std::get<ConnectRequest>(*p);
  CHECK(c.routing_id.hex() == "078f8a");
  CHECK(c.tunnel_id.hex() == "4daa63321c9414caecee728764b0b3c9");
  CHECK(connect_path(c.routing_id, c.tunnel_id) == "/cable/connect/078F8A/4DAA63321C9414CAECEE728764B0B3C9");
  CHECK(path_kind(*p) == "connect");
  CHECK(is_websocket_path(*p));
}

TEST_CASE("tunnel_path: contact and push ids are base64url without padding") {
  Bytes id = {0xfb, 0xff, 0x00, 0x10, 0x7e};
  auto path = contact_path(id);
  CHECK(path == "/cable/contact/-_8AEH4");
  auto p = parse_request_path(path);
  REQUIRE(p.ok());
  CHECK(std::get<ContactRequest>(*p).contact_id == id);
  auto q = parse_request_path(push_path(id) + "?x=1");
  REQUIRE(q.ok());
  CHECK(std::get<PushRequest>(*q).contact_id == id);
  CHECK_FALSE(parse_request_path("/cable/contact/-_8AEH4=").ok());
  CHECK_FALSE(parse_request_path("/cable/contact/").ok());
  CHECK_FALSE(parse_request_path("/cable/contact/ab+c").ok());
  CHECK_FALSE(parse_request_path("/cable/contact/abc/def").ok());
  CHECK_FALSE(parse_request_path("/cable/push/" + std::string(700, 'A')).ok());  // > 512 bytes
}

TEST_CASE("tunnel_path: operations paths and garbage") {
  CHECK(std::holds_alternative<HealthRequest>(*parse_request_path("/healthz")));
  CHECK(std::holds_alternative<MetricsRequest>(*parse_request_path("/metrics?format=text")));
  CHECK_FALSE(is_websocket_path(*parse_request_path("/metrics")));
  const char* bad[] = {
      "", "/", "/cable", "/cable/new/", "/cable/new/0123", "/cable/new/0123456789ABCDEF0123456789ABCDEG",
      "/cable/new/0123456789ABCDEF0123456789ABCDEF/", "/cable/new/0123456789ABCDEF0123456789ABCDEF00",
      "/cable/connect/2A0000", "/cable/connect/2A00000123456789ABCDEF0123456789ABCDEF",
      "/cable/connect/2A0000/0123456789ABCDEF0123456789ABCDEF/x", "/cable/connect/zz0000/0123456789ABCDEF0123456789ABCDEF",
      "/healthz/", "/CABLE/new/0123456789ABCDEF0123456789ABCDEF", "/../cable/new/0123456789ABCDEF0123456789ABCDEF"};
  for (const char* b : bad) {
    INFO(b);
    CHECK_FALSE(parse_request_path(b).ok());
  }
  auto long_path = "/cable/new/" + std::string(2000, '0');
  auto r = parse_request_path(long_path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("longer than the limit") != std::string::npos);
}

TEST_CASE("tunnel_url: parse ws and wss URLs") {
  auto u = parse_ws_url("wss://cable.ua5v.com/cable/new/AB");
  REQUIRE(u.ok());
  CHECK(u->tls);
  CHECK(u->host == "cable.ua5v.com");
  CHECK(u->port == 443);
  CHECK(u->path == "/cable/new/AB");
  CHECK(u->to_string() == "wss://cable.ua5v.com/cable/new/AB");
  auto v = parse_ws_url("ws://127.0.0.1:8080");
  REQUIRE(v.ok());
  CHECK_FALSE(v->tls);
  CHECK(v->port == 8080);
  CHECK(v->path == "/");
  CHECK(v->host_header() == "127.0.0.1:8080");
  auto w = parse_ws_url("ws://[::1]:9/x");
  REQUIRE(w.ok());
  CHECK(w->host == "::1");
  CHECK(w->to_string() == "ws://[::1]:9/x");
  for (const char* bad : {"ftp://x/", "wss://", "wss://host:0/", "wss://host:70000/", "wss://u@host/", "ws://a b/",
                          "wss://host:12x/", "cable.ua5v.com/x"}) {
    INFO(bad);
    CHECK_FALSE(parse_ws_url(bad).ok());
  }
}

TEST_CASE("tunnel_url: redirect resolution (vectors §13)") {
  auto base = *parse_ws_url("wss://cable.example.com/cable/contact/abc");
  auto rel = resolve_redirect(base, "/cable/contact/v2/abc");
  REQUIRE(rel.ok());
  CHECK(rel->to_string() == "wss://cable.example.com/cable/contact/v2/abc");
  auto abs = resolve_redirect(base, "wss://cable.example.net/cable/contact/xyz");
  REQUIRE(abs.ok());
  CHECK(abs->to_string() == "wss://cable.example.net/cable/contact/xyz");
  auto sibling = resolve_redirect(base, "def");
  REQUIRE(sibling.ok());
  CHECK(sibling->to_string() == "wss://cable.example.com/cable/contact/def");
  auto scheme_relative = resolve_redirect(base, "//other.example:444/p");
  REQUIRE(scheme_relative.ok());
  CHECK(scheme_relative->to_string() == "wss://other.example:444/p");
  auto https = resolve_redirect(base, "https://h.example/q");
  REQUIRE(https.ok());
  CHECK(https->tls);
  CHECK_FALSE(resolve_redirect(base, "").ok());
  CHECK_FALSE(resolve_redirect(base, "gopher://x/").ok());
}

TEST_CASE("tunnel_url: a redirect never downgrades wss:// to ws:// (issue 15 finding 4)") {
  auto base = *parse_ws_url("wss://cable.example.com/cable/contact/abc");
  auto down = resolve_redirect(base, "ws://cable.example.com/cable/contact/abc");
  REQUIRE_FALSE(down.ok());
  CHECK_THAT(down.error().message, Catch::Contains("wss:// to ws://"));
  CHECK_FALSE(resolve_redirect(base, "http://evil.example/x").ok());
  CHECK(resolve_redirect(*parse_ws_url("ws://127.0.0.1:1/a"), "wss://127.0.0.1:2/b").ok());  // upgrade is fine
}

TEST_CASE("tunnel_push_message: round trip and strict decoding") {
  PushMessage m{*TunnelId::from_hex("00112233445566778899aabbccddeeff", "t"), *RoutingId::from_hex("2a0000", "r"),
                Bytes{0xa1, 0x01, 0x02}};
  Bytes wire = encode_push_message(m);
  auto back = decode_push_message(wire);
  REQUIRE(back.ok());
  CHECK(back->tunnel_id == m.tunnel_id);
  CHECK(back->routing_id == m.routing_id);
  CHECK(back->client_payload == m.client_payload);
  CHECK(cbor::to_diagnostic(*cbor::decode(wire)).find("1: h'00112233") != std::string::npos);

  CHECK_FALSE(decode_push_message(Bytes{}).ok());
  CHECK_FALSE(decode_push_message(Bytes(wire.begin(), wire.end() - 1)).ok());
  cbor::Map short_id{{1, cbor::Value(Bytes(15, 0))}, {2, cbor::Value(Bytes(3, 0))}, {3, cbor::Value(Bytes{})}};
  CHECK_FALSE(decode_push_message(cbor::encode(cbor::Value(short_id))).ok());
  cbor::Map extra{{1, cbor::Value(Bytes(16, 0))}, {2, cbor::Value(Bytes(3, 0))}, {3, cbor::Value(Bytes{})}, {4, 1}};
  CHECK_FALSE(decode_push_message(cbor::encode(cbor::Value(extra))).ok());
  cbor::Map text{{1, cbor::Value(Bytes(16, 0))}, {2, cbor::Value(Bytes(3, 0))}, {3, cbor::Value("x")}};
  CHECK_FALSE(decode_push_message(cbor::encode(cbor::Value(text))).ok());
}
