// tunnel/config_file.h: every key of the shipped example parses; each mistake is reported
// with its key and line; flags win over the file; reload classes and limits are right.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "tunnel/config_file.h"

using namespace hybrid::tunnel;

namespace {
std::string error_of(const std::string& text) {
  auto r = parse_config_text(text, "t.json");
  REQUIRE_FALSE(r);
  return r.error().message;
}
}  // namespace

TEST_CASE("config: the shipped example parses and sets every field it names") {
  std::ifstream in("deploy/tunnel.example.json");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  auto f = parse_config_text(ss.str(), "deploy/tunnel.example.json");
  REQUIRE(f);
  CHECK(f->values.listen == "127.0.0.1:9001");
  CHECK(f->values.routing_id == "2A0001");
  CHECK(f->values.max_connections == 200000);
  CHECK(f->present.front().field->key == "listen");
  CHECK(f->present.front().line == 2);
  auto config = server_config(f->values);
  REQUIRE(config);
  CHECK(config->limits.max_connections == 200000u);
  CHECK(config->routing_id.hex_upper() == "2A0001");
}

TEST_CASE("config: every documented key is in docs/tunnel.md") {
  std::ifstream in("docs/tunnel.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  for (const auto& f : config_fields()) {
    INFO(f.key);
    CHECK(ss.str().find("`" + std::string(f.key) + "`") != std::string::npos);
  }
}

TEST_CASE("config: mistakes name the key and the line") {
  CHECK(error_of("{\n \"ttl_seconds\": 1,\n \"ttl\": 5\n}") ==
        "t.json line 3: \"ttl\" is not a known key (known: listen, tls_cert, tls_key, routing_id, trust_forwarded_for, "
        "registration_store, "
        "ttl_seconds, handshake_timeout_seconds, idle_timeout_seconds, push_idle_timeout_seconds, "
        "max_messages_per_side, max_message_size, max_pending_per_ip, max_connections, max_push_registrations, "
        "max_queued_pushes, max_refusals_per_ip_per_minute, max_header_bytes, max_push_registrations_per_ip, "
        "push_registration_lifetime_seconds, max_connections_per_ip, max_queued_bytes, log_level, log_format, log_json)");
  CHECK(error_of("{\"a\":{\"ttl_seconds\":1},\n\"ttl_seconds\": true}").find("line 1: \"a\"") != std::string::npos);
  CHECK(error_of("{\n\n \"max_connections\": 0\n}") ==
        "t.json line 3: \"max_connections\" must be between 1 and 4294967295, got 0");
  CHECK(error_of("{\n \"trust_forwarded_for\": \"yes\"\n}") ==
        "t.json line 2: \"trust_forwarded_for\" must be true or false, got \"yes\"");
  CHECK(error_of("{\n \"listen\": \"localhost\"\n}") ==
        "t.json line 2: \"listen\" must be HOST:PORT, got \"localhost\"");
  CHECK(error_of("{\n \"log_format\": \"xml\"\n}").find("line 2: \"log_format\" must be text or json") !=
        std::string::npos);
  CHECK(error_of("{\n \"ttl_seconds\": 1.5\n}").find("line 2: \"ttl_seconds\" must be a whole number") !=
        std::string::npos);
  CHECK(error_of("{\n \"ttl_seconds\": 1\n \"idle_timeout_seconds\": 2\n}").find("t.json line 3: not valid JSON") == 0);
  CHECK(error_of("[1]") == "t.json: must hold one JSON object {\"key\": value, …}");
  CHECK(error_of("{\"max_queued_pushes\": 1, \"max_queued_pushes\": 2}").find("set twice") != std::string::npos);
  // The first bad line in the file is the one reported, whatever the key order.
  CHECK(error_of("{\n \"ttl_seconds\": \"x\",\n \"max_connections\": \"y\"\n}").find("line 2") != std::string::npos);
}

TEST_CASE("config: flags win; changed fields carry their reload class") {
  auto f = parse_config_text("{\"ttl_seconds\": 30, \"listen\": \"0.0.0.0:443\", \"log_level\": \"debug\"}", "t");
  REQUIRE(f);
  ServeSettings s;
  s.ttl = 99;
  apply_config(*f, s, [](std::string_view flag) { return flag == "--ttl"; });
  CHECK(s.ttl == 99);
  CHECK(s.listen == "0.0.0.0:443");
  CHECK(s.log_level == "debug");

  ServeSettings before;
  auto changed = changed_fields(before, s);
  REQUIRE(changed.size() == 3);
  for (const auto* c : changed) {
    INFO(c->key);
    CHECK(c->reload == (c->key == "listen" ? Reload::restart : Reload::live));
  }
  CHECK(find_field("max_header_bytes")->reload == Reload::restart);
  CHECK(find_field("max_pending_per_ip")->reload == Reload::live);
}

TEST_CASE("config: settings to server configuration") {
  ServeSettings s;
  s.tls_cert = "cert.pem";
  CHECK_FALSE(server_config(s));
  s.tls_key = "key.pem";
  CHECK(server_config(s));
  s.max_header_bytes = 70000;
  auto bad = server_config(s);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "--max-header-bytes must be between 256 and 65535, got 70000");
  s.max_header_bytes = 0;
  s.log_json = true;
  CHECK(wants_json_logs(s));
  s.log_format = "text";
  CHECK_FALSE(wants_json_logs(s));
  auto l = server_limits(ServeSettings{});
  REQUIRE(l);
  CHECK(l->tunnel_ttl == ServerLimits{}.tunnel_ttl);  // 0 = the default
}
