#include "tunnel/config_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "crypto/primitives.h"
#include "tunnel/push_binding_store.h"

namespace hybrid::tunnel {
namespace {

constexpr int64_t kU32 = std::numeric_limits<uint32_t>::max();
constexpr int64_t kWeek = 7 * 24 * 3600;

Status valid_listen(const std::string& v) {
  auto r = split_listen(v);
  if (!r) return r.error();
  return {};
}
Status valid_registration_store(const std::string& v) {
  if (v.empty()) return {};
  auto parsed = RedisPushBindingStore::parse_url(v);
  if (!parsed) return parsed.error();
  return {};
}

Status valid_routing_id(const std::string& v) {
  auto r = RoutingId::from_hex(v, "routing_id");
  if (!r) return make_error("must be 6 hex digits (3 bytes), got \"" + v + "\"");
  return {};
}
Status valid_log_level(const std::string& v) {
  for (const char* l : {"debug", "info", "warn", "error", "off"}) {
    if (v == l) return {};
  }
  return make_error("must be debug, info, warn, error or off, got \"" + v + "\"");
}
Status valid_log_format(const std::string& v) {
  if (v == "text" || v == "json") return {};
  return make_error("must be text or json, got \"" + v + "\"");
}
Status non_empty(const std::string& v) {
  if (v.empty()) return make_error("must not be empty");
  return {};
}

using S = ServeSettings;

// Top-level keys in file order with the line each starts on (nlohmann keeps no positions).
std::vector<std::pair<std::string, int>> top_level_keys(std::string_view t) {
  std::vector<std::pair<std::string, int>> keys;
  int depth = 0, line = 1;
  bool expect_key = false;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\n') {
      ++line;
    } else if (c == '"') {
      int start = line;
      std::string s;
      for (++i; i < t.size() && t[i] != '"'; ++i) {
        if (t[i] == '\\' && i + 1 < t.size()) s.push_back(t[i++]);
        if (t[i] == '\n') ++line;
        s.push_back(t[i]);
      }
      if (depth == 1 && expect_key) keys.emplace_back(std::move(s), start);
      expect_key = false;
    } else if (c == '{' || c == '[') {
      ++depth;
      expect_key = c == '{' && depth == 1;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expect_key = true;
    }
  }
  return keys;
}

std::string where(const std::string& path, int line) {
  return line > 0 ? path + " line " + std::to_string(line) : path;
}

std::string known_keys() {
  std::string out;
  for (const auto& f : config_fields()) out += (out.empty() ? "" : ", ") + std::string(f.key);
  return out;
}

}  // namespace

const std::vector<ConfigField>& config_fields() {
  using R = Reload;
  static const std::vector<ConfigField> fields = {
      {"listen", "--listen", "HOST:PORT to listen on; port 0 picks a free one",
       R::restart, &S::listen, 0, 0, valid_listen},
      {"tls_cert", "--tls-cert", "PEM certificate chain (serve wss://); needs --tls-key",
       R::restart, &S::tls_cert, 0, 0, non_empty},
      {"tls_key", "--tls-key", "PEM private key for --tls-cert",
       R::restart, &S::tls_key, 0, 0, non_empty},
      {"routing_id", "--routing-id", "this node's routing id, 6 hex digits (default: random)",
       R::restart, &S::routing_id, 0, 0, valid_routing_id},
      {"trust_forwarded_for", "--trust-forwarded-for", "per-address limits use the last X-Forwarded-For entry (only behind your own proxy)",
       R::restart, &S::trust_forwarded_for},
      {"registration_store", "--registration-store", "redis://HOST:PORT: keep push bindings where every node reaches them (default: memory)",
       R::restart, &S::registration_store, 0, 0, valid_registration_store},
      {"ttl_seconds", "--ttl", "tunnel lifetime in seconds from /new or /contact (default 120)",
       R::live, &S::ttl, 1, kWeek},
      {"handshake_timeout_seconds", "--handshake-timeout", "seconds to finish the HTTP upgrade (default 10)",
       R::restart, &S::handshake_timeout, 1, 3600},
      {"idle_timeout_seconds", "--idle-timeout", "seconds a paired tunnel may stay silent (default 90)",
       R::live, &S::idle_timeout, 1, kWeek},
      {"push_idle_timeout_seconds", "--push-idle-timeout", "seconds between push keepalives (default 300)",
       R::live, &S::push_idle_timeout, 1, kWeek},
      {"max_messages_per_side", "--max-messages", "messages per side per tunnel (default 16)",
       R::live, &S::max_messages, 1, kU32},
      {"max_message_size", "--max-message-size", "largest message in bytes (default 16384)",
       R::restart, &S::max_message_size, 1, 64 * 1024 * 1024},
      {"max_pending_per_ip", "--max-pending-per-ip", "pending tunnels per client address (default 100)",
       R::live, &S::max_pending_per_ip, 1, kU32},
      {"max_connections", "--max-connections", "WebSocket connections at once (default 10000)",
       R::live, &S::max_connections, 1, kU32},
      {"max_push_registrations", "--max-push-registrations", "contact ids kept (default 100000)",
       R::live, &S::max_push_registrations, 1, kU32},
      {"max_queued_pushes", "--max-queued-pushes", "pushes kept per offline phone (default 4)",
       R::live, &S::max_queued_pushes, 1, kU32},
      {"max_refusals_per_ip_per_minute", "--max-refusals-per-ip", "refused requests per address per minute before 429 (default 600)",
       R::live, &S::max_refusals, 1, kU32},
      {"max_header_bytes", "--max-header-bytes", "largest HTTP request header block (default 4096)",
       R::restart, &S::max_header_bytes, 256, 65535},
      {"max_push_registrations_per_ip", "--max-push-registrations-per-ip", "contact ids one address may own (default 200)",
       R::live, &S::max_push_registrations_per_ip, 1, kU32},
      {"push_registration_lifetime_seconds", "--push-registration-lifetime", "seconds a contact id is kept while its phone stays away (default 604800, 7 days)",
       R::live, &S::push_registration_lifetime, 1, 365 * 24 * 3600},
      {"max_connections_per_ip", "--max-connections-per-ip", "WebSocket connections of any kind one address may hold (default 400)",
       R::live, &S::max_connections_per_ip, 1, kU32},
      {"max_queued_bytes", "--max-queued-bytes", "bytes queued for absent peers over the whole node (default 67108864)",
       R::live, &S::max_queued_bytes, 1, int64_t(1) << 40},
      {"log_level", "--log-level", "debug, info, warn, error or off (default: $HYBRID_LOG or info)",
       R::live, &S::log_level, 0, 0, valid_log_level},
      {"log_format", "--log-format", "text (default) or json: one JSON object per line on stderr",
       R::live, &S::log_format, 0, 0, valid_log_format},
      {"log_json", "--log-json", "the same as --log-format json",
       R::live, &S::log_json},
  };
  return fields;
}

const ConfigField* find_field(std::string_view key) {
  for (const auto& f : config_fields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

Result<ConfigFile> parse_config_text(std::string_view text, const std::string& path) {
  ConfigFile out;
  out.path = path;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    size_t upto = std::min(e.byte == 0 ? 0 : e.byte - 1, text.size());
    int line = 1;
    for (size_t i = 0; i < upto; ++i) line += text[i] == '\n';
    std::string what = e.what();
    if (auto p = what.find("syntax error"); p != std::string::npos) what = what.substr(p);
    return make_error(where(path, line) + ": not valid JSON (" + what + ")");
  }
  if (!j.is_object()) return make_error(path + ": must hold one JSON object {\"key\": value, …}");

  auto keys = top_level_keys(text);
  auto line_of = [&](const std::string& key) {
    for (const auto& [k, l] : keys) {
      if (k == key) return l;
    }
    return 0;
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t k = 0; k < i; ++k) {
      if (keys[k].first == keys[i].first) {
        return make_error(where(path, keys[i].second) + ": \"" + keys[i].first + "\" is set twice (also on line " +
                          std::to_string(keys[k].second) + ")");
      }
    }
  }
  // In file order, so that the first bad line is the one reported.
  std::vector<std::pair<int, std::string>> ordered;
  for (auto& [key, value] : j.items()) ordered.emplace_back(line_of(key), key);
  std::sort(ordered.begin(), ordered.end());
  for (const auto& [line, key] : ordered) {
    const auto& value = j.at(key);
    const ConfigField* f = find_field(key);
    std::string at = where(path, line) + ": \"" + key + "\"";
    if (!f) return make_error(at + " is not a known key (known: " + known_keys() + ")");
    if (auto* m = std::get_if<std::string S::*>(&f->member)) {
      if (!value.is_string()) return make_error(at + " must be a string, got " + value.dump());
      std::string v = value.get<std::string>();
      if (f->validate) {
        if (auto st = f->validate(v); !st) return make_error(at + " " + st.error().message);
      }
      out.values.*(*m) = v;
    } else if (auto* b = std::get_if<bool S::*>(&f->member)) {
      if (!value.is_boolean()) return make_error(at + " must be true or false, got " + value.dump());
      out.values.*(*b) = value.get<bool>();
    } else if (auto* n = std::get_if<int64_t S::*>(&f->member)) {
      if (!value.is_number_integer()) return make_error(at + " must be a whole number, got " + value.dump());
      int64_t v = value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX
                                                                                          : value.get<int64_t>();
      if (v < f->min || v > f->max) {
        return make_error(at + " must be between " + std::to_string(f->min) + " and " + std::to_string(f->max) +
                          ", got " + value.dump());
      }
      out.values.*(*n) = v;
    }
    out.present.push_back({f, line});
  }
  return out;
}

Result<ConfigFile> read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read the config file " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config_text(ss.str(), path);
}

void apply_config(const ConfigFile& file, ServeSettings& s, const std::function<bool(std::string_view)>& pinned) {
  for (const auto& p : file.present) {
    if (pinned && pinned(p.field->flag)) continue;
    std::visit([&](auto m) { s.*m = file.values.*m; }, p.field->member);
  }
}

std::vector<const ConfigField*> changed_fields(const ServeSettings& a, const ServeSettings& b) {
  std::vector<const ConfigField*> out;
  for (const auto& f : config_fields()) {
    bool differs = std::visit([&](auto m) { return a.*m != b.*m; }, f.member);
    if (differs) out.push_back(&f);
  }
  return out;
}

Result<std::pair<std::string, uint16_t>> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return make_error("must be HOST:PORT, got \"" + listen + "\"");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (host.empty() || *end != '\0' || colon + 1 == listen.size() || port < 0 || port > 65535) {
    return make_error("must be HOST:PORT with a port 0..65535, got \"" + listen + "\"");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<ServerLimits> server_limits(const ServeSettings& a) {
  ServerLimits l;
  for (const auto& f : config_fields()) {
    auto* m = std::get_if<int64_t S::*>(&f.member);
    if (!m) continue;
    int64_t v = a.*(*m);
    if (v == 0) continue;  // the default
    if (v < f.min || v > f.max) {
      return make_error(std::string(f.flag) + " must be between " + std::to_string(f.min) + " and " +
                        std::to_string(f.max) + ", got " + std::to_string(v));
    }
  }
  if (a.ttl) l.tunnel_ttl = std::chrono::seconds(a.ttl);
  if (a.handshake_timeout) l.handshake_timeout = std::chrono::seconds(a.handshake_timeout);
  if (a.idle_timeout) l.idle_timeout = std::chrono::seconds(a.idle_timeout);
  if (a.push_idle_timeout) l.push_idle_timeout = std::chrono::seconds(a.push_idle_timeout);
  if (a.max_messages) l.max_messages_per_side = static_cast<uint32_t>(a.max_messages);
  if (a.max_message_size) l.max_message_size = static_cast<size_t>(a.max_message_size);
  if (a.max_pending_per_ip) l.max_pending_per_ip = static_cast<uint32_t>(a.max_pending_per_ip);
  if (a.max_connections) l.max_connections = static_cast<uint32_t>(a.max_connections);
  if (a.max_push_registrations) l.max_push_registrations = static_cast<uint32_t>(a.max_push_registrations);
  if (a.max_queued_pushes) l.max_queued_pushes = static_cast<uint32_t>(a.max_queued_pushes);
  if (a.max_refusals) l.max_refusals_per_ip_per_minute = static_cast<uint32_t>(a.max_refusals);
  if (a.max_header_bytes) l.max_header_bytes = static_cast<uint32_t>(a.max_header_bytes);
  if (a.max_push_registrations_per_ip) {
    l.max_push_registrations_per_ip = static_cast<uint32_t>(a.max_push_registrations_per_ip);
  }
  if (a.push_registration_lifetime) l.push_registration_lifetime = std::chrono::seconds(a.push_registration_lifetime);
  if (a.max_connections_per_ip) l.max_connections_per_ip = static_cast<uint32_t>(a.max_connections_per_ip);
  if (a.max_queued_bytes) l.max_queued_bytes = static_cast<size_t>(a.max_queued_bytes);
  return l;
}

Result<ServerConfig> server_config(const ServeSettings& a) {
  ServerConfig c;
  auto hp = split_listen(a.listen);
  if (!hp) return make_error("--listen " + hp.error().message);
  c.host = hp->first;
  c.port = hp->second;
  if (a.tls_cert.empty() != a.tls_key.empty()) {
    return make_error("tls_cert and tls_key (--tls-cert, --tls-key) must be given together");
  }
  c.tls_cert_file = a.tls_cert;
  c.tls_key_file = a.tls_key;
  c.trust_forwarded_for = a.trust_forwarded_for;
  if (!a.registration_store.empty()) {
    HYBRID_TRY(auto redis, RedisPushBindingStore::parse_url(a.registration_store));
    c.push_bindings = std::make_shared<RedisPushBindingStore>(redis);
  }
  if (!a.routing_id.empty()) {
    HYBRID_TRY(c.routing_id, RoutingId::from_hex(a.routing_id, "--routing-id"));
  } else {
    c.routing_id.bytes = crypto::random_array<kRoutingIdSize>();
  }
  if (!a.log_level.empty()) {
    if (auto st = valid_log_level(a.log_level); !st) return make_error("--log-level " + st.error().message);
  }
  if (!a.log_format.empty()) {
    if (auto st = valid_log_format(a.log_format); !st) return make_error("--log-format " + st.error().message);
  }
  HYBRID_TRY(c.limits, server_limits(a));
  return c;
}

bool wants_json_logs(const ServeSettings& s) { return s.log_format == "json" || (s.log_format.empty() && s.log_json); }

}  // namespace hybrid::tunnel
