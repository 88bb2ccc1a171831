// `hybrid tunnel serve`: the tunnel service phones and PCs meet on (spec §7), with limits,
// TLS, /healthz, /metrics and the push channel for linked software phones. docs/tunnel.md
// describes operation, the config file and multi-node deployment.
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "base/log.h"
#include "crypto/primitives.h"
#include "tunnel/server.h"

namespace hybrid::app {
namespace {

constexpr std::string_view kStage = "tunnel";

struct ServeArgs {
  std::string listen = "127.0.0.1:0";
  std::string tls_cert, tls_key, config_file, routing_id, log_level;
  bool log_json = false;
  bool trust_forwarded_for = false;
  int64_t ttl = 0, handshake_timeout = 0, idle_timeout = 0, push_idle_timeout = 0;
  int64_t max_messages = 0, max_message_size = 0, max_pending_per_ip = 0, max_connections = 0;
  int64_t max_push_registrations = 0, max_queued_pushes = 0, max_refusals = 0, max_header_bytes = 0;
  int64_t max_push_registrations_per_ip = 0, push_registration_lifetime = 0, max_connections_per_ip = 0;
  int64_t max_queued_bytes = 0;
};

std::atomic<tunnel::TunnelServer*> g_server{nullptr};

void on_stop_signal(int) {
  if (auto* s = g_server.load()) s->stop();  // atomic store + lws_cancel_service (a pipe write)
}

Result<std::pair<std::string, uint16_t>> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return make_error("--listen must be HOST:PORT, got \"" + listen + "\"");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (host.empty() || *end != '\0' || colon + 1 == listen.size() || port < 0 || port > 65535) {
    return make_error("--listen must be HOST:PORT with a port 0..65535, got \"" + listen + "\"");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// Applies the JSON config file; command-line flags given explicitly win afterwards.
Status apply_config_file(const std::string& path, ServeArgs& a, const CLI::App& cmd) {
  std::ifstream in(path);
  if (!in) return make_error("cannot read the config file " + path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    return make_error("the config file " + path + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) return make_error("the config file " + path + " must hold one JSON object");
  auto given = [&](const char* flag) { return cmd.get_option(flag)->count() > 0; };
  try {
    for (auto& [key, value] : j.items()) {
      auto str = [&](std::string& dst, const char* flag) { if (!given(flag)) dst = value.get<std::string>(); };
      auto num = [&](int64_t& dst, const char* flag) { if (!given(flag)) dst = value.get<int64_t>(); };
      if (key == "listen") str(a.listen, "--listen");
      else if (key == "tls_cert") str(a.tls_cert, "--tls-cert");
      else if (key == "tls_key") str(a.tls_key, "--tls-key");
      else if (key == "routing_id") str(a.routing_id, "--routing-id");
      else if (key == "log_level") str(a.log_level, "--log-level");
      else if (key == "log_json") { if (!given("--log-json")) a.log_json = value.get<bool>(); }
      else if (key == "trust_forwarded_for") {
        if (!given("--trust-forwarded-for")) a.trust_forwarded_for = value.get<bool>();
      }
      else if (key == "ttl_seconds") num(a.ttl, "--ttl");
      else if (key == "handshake_timeout_seconds") num(a.handshake_timeout, "--handshake-timeout");
      else if (key == "idle_timeout_seconds") num(a.idle_timeout, "--idle-timeout");
      else if (key == "push_idle_timeout_seconds") num(a.push_idle_timeout, "--push-idle-timeout");
      else if (key == "max_messages_per_side") num(a.max_messages, "--max-messages");
      else if (key == "max_message_size") num(a.max_message_size, "--max-message-size");
      else if (key == "max_pending_per_ip") num(a.max_pending_per_ip, "--max-pending-per-ip");
      else if (key == "max_connections") num(a.max_connections, "--max-connections");
      else if (key == "max_push_registrations") num(a.max_push_registrations, "--max-push-registrations");
      else if (key == "max_queued_pushes") num(a.max_queued_pushes, "--max-queued-pushes");
      else if (key == "max_refusals_per_ip_per_minute") num(a.max_refusals, "--max-refusals-per-ip");
      else if (key == "max_header_bytes") num(a.max_header_bytes, "--max-header-bytes");
      else if (key == "max_push_registrations_per_ip") {
        num(a.max_push_registrations_per_ip, "--max-push-registrations-per-ip");
      } else if (key == "push_registration_lifetime_seconds") {
        num(a.push_registration_lifetime, "--push-registration-lifetime");
      } else if (key == "max_connections_per_ip") num(a.max_connections_per_ip, "--max-connections-per-ip");
      else if (key == "max_queued_bytes") num(a.max_queued_bytes, "--max-queued-bytes");
      else return make_error("the config file " + path + " has an unknown key \"" + key + "\"");
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error("the config file " + path + " has a value of the wrong type: " + e.what());
  }
  return {};
}

Result<tunnel::ServerConfig> build_config(const ServeArgs& a) {
  tunnel::ServerConfig c;
  HYBRID_TRY(auto hp, split_listen(a.listen));
  c.host = hp.first;
  c.port = hp.second;
  c.tls_cert_file = a.tls_cert;
  c.tls_key_file = a.tls_key;
  c.trust_forwarded_for = a.trust_forwarded_for;
  if (!a.routing_id.empty()) {
    HYBRID_TRY(c.routing_id, RoutingId::from_hex(a.routing_id, "--routing-id"));
  } else {
    c.routing_id.bytes = crypto::random_array<kRoutingIdSize>();
  }
  auto& l = c.limits;
  auto positive = [](int64_t v, const char* name) -> Status {
    if (v < 0) return make_error(std::string(name) + " must not be negative");
    return {};
  };
  const std::pair<int64_t, const char*> all[] = {
      {a.ttl, "--ttl"}, {a.handshake_timeout, "--handshake-timeout"}, {a.idle_timeout, "--idle-timeout"},
      {a.push_idle_timeout, "--push-idle-timeout"}, {a.max_messages, "--max-messages"},
      {a.max_message_size, "--max-message-size"}, {a.max_pending_per_ip, "--max-pending-per-ip"},
      {a.max_connections, "--max-connections"}, {a.max_push_registrations, "--max-push-registrations"},
      {a.max_queued_pushes, "--max-queued-pushes"}, {a.max_refusals, "--max-refusals-per-ip"},
      {a.max_header_bytes, "--max-header-bytes"},
      {a.max_push_registrations_per_ip, "--max-push-registrations-per-ip"},
      {a.push_registration_lifetime, "--push-registration-lifetime"},
      {a.max_connections_per_ip, "--max-connections-per-ip"}, {a.max_queued_bytes, "--max-queued-bytes"}};
  for (auto& [v, name] : all) HYBRID_TRY_STATUS(positive(v, name));
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
  if (a.max_push_registrations_per_ip) {
    l.max_push_registrations_per_ip = static_cast<uint32_t>(a.max_push_registrations_per_ip);
  }
  if (a.push_registration_lifetime) {
    l.push_registration_lifetime = std::chrono::seconds(a.push_registration_lifetime);
  }
  if (a.max_connections_per_ip) l.max_connections_per_ip = static_cast<uint32_t>(a.max_connections_per_ip);
  if (a.max_queued_bytes) l.max_queued_bytes = static_cast<size_t>(a.max_queued_bytes);
  if (a.max_header_bytes) {
    if (a.max_header_bytes > 65535) return make_error("--max-header-bytes must be at most 65535");
    l.max_header_bytes = static_cast<uint32_t>(a.max_header_bytes);
  }
  return c;
}

// A server holds one socket per connection: use the whole hard limit on open files.
void raise_fd_limit(uint32_t wanted) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < wanted + 64) {
    log::warn(kStage, "the open-file limit ({}) is below --max-connections ({}); raise it (LimitNOFILE=)",
              static_cast<unsigned long long>(rl.rlim_cur), wanted);
  }
}

void run_serve(const ServeArgs& args_in, const CLI::App& cmd) {
  ServeArgs args = args_in;
  if (!args.config_file.empty()) {
    if (auto st = apply_config_file(args.config_file, args, cmd); !st) {
      std::fprintf(stderr, "hybrid tunnel serve: %s\n", st.error().message.c_str());
      return set_exit_code(kUsage);
    }
  }
  log::set_json(args.log_json);
  if (!args.log_level.empty()) {
    static const std::pair<const char*, log::Level> levels[] = {
        {"debug", log::Level::debug}, {"info", log::Level::info}, {"warn", log::Level::warn},
        {"error", log::Level::error}, {"off", log::Level::off}};
    bool found = false;
    for (auto& [name, level] : levels) {
      if (args.log_level == name) log::set_threshold(level), found = true;
    }
    if (!found) {
      std::fprintf(stderr, "hybrid tunnel serve: --log-level must be debug, info, warn, error or off\n");
      return set_exit_code(kUsage);
    }
  }
  auto config = build_config(args);
  if (!config) {
    std::fprintf(stderr, "hybrid tunnel serve: %s\n", config.error().message.c_str());
    return set_exit_code(kUsage);
  }
  raise_fd_limit(config->limits.max_connections);
  auto server = tunnel::TunnelServer::create(*config);
  if (!server) {
    log::error(kStage, "{}", server.error().message);
    return set_exit_code(kNetwork);
  }
  g_server = server->get();
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGPIPE, SIG_IGN);
  nlohmann::json ready = {{"ready", true},
                          {"url", (*server)->url()},
                          {"port", (*server)->port()},
                          {"routing_id", config->routing_id.hex_upper()}};
  std::cout << ready.dump() << std::endl;
  if (std::getenv("NOTIFY_SOCKET")) sd_notify(0, "READY=1");
  (*server)->run();
  if (std::getenv("NOTIFY_SOCKET")) sd_notify(0, "STOPPING=1");
  g_server = nullptr;
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  set_exit_code(kOk);
}

void install(CLI::App& root) {
  auto* tunnel = root.add_subcommand("tunnel", "Run the caBLE tunnel service that phones and PCs meet on.");
  tunnel->require_subcommand(1);
  auto args = std::make_shared<ServeArgs>();
  auto* serve = tunnel->add_subcommand(
      "serve",
      "Serve /cable/new, /cable/connect, /cable/contact and /cable/push WebSockets plus /healthz and\n"
      "/metrics. Prints one JSON line {\"ready\":true,\"url\":…,\"routing_id\":…} on stdout when ready;\n"
      "SIGTERM/SIGINT close every tunnel with 1001 and exit 0. Flags override --config.");
  serve->add_option("--listen", args->listen, "HOST:PORT to listen on; port 0 picks a free one")->capture_default_str();
  serve->add_option("--tls-cert", args->tls_cert, "PEM certificate chain (serve wss://); needs --tls-key");
  serve->add_option("--tls-key", args->tls_key, "PEM private key for --tls-cert");
  serve->add_option("--config", args->config_file, "JSON config file (keys: see docs/tunnel.md)");
  serve->add_option("--routing-id", args->routing_id, "this node's routing id, 6 hex digits (default: random)");
  serve->add_option("--ttl", args->ttl, "tunnel lifetime in seconds from /new or /contact (default 120)");
  serve->add_option("--max-messages", args->max_messages, "messages per side per tunnel (default 16)");
  serve->add_option("--max-message-size", args->max_message_size, "largest message in bytes (default 16384)");
  serve->add_option("--max-pending-per-ip", args->max_pending_per_ip, "pending tunnels per client address (default 100)");
  serve->add_option("--max-connections", args->max_connections, "WebSocket connections at once (default 10000)");
  serve->add_option("--handshake-timeout", args->handshake_timeout, "seconds to finish the HTTP upgrade (default 10)");
  serve->add_option("--idle-timeout", args->idle_timeout, "seconds a paired tunnel may stay silent (default 90)");
  serve->add_option("--push-idle-timeout", args->push_idle_timeout, "seconds between push keepalives (default 300)");
  serve->add_option("--max-push-registrations", args->max_push_registrations, "contact ids kept (default 100000)");
  serve->add_option("--max-queued-pushes", args->max_queued_pushes, "pushes kept per offline phone (default 4)");
  serve->add_option("--max-push-registrations-per-ip", args->max_push_registrations_per_ip,
                    "contact ids one address may own (default 200)");
  serve->add_option("--push-registration-lifetime", args->push_registration_lifetime,
                    "seconds a contact id is kept while its phone stays away (default 604800, 7 days)");
  serve->add_option("--max-connections-per-ip", args->max_connections_per_ip,
                    "WebSocket connections of any kind one address may hold (default 400)");
  serve->add_option("--max-queued-bytes", args->max_queued_bytes,
                    "bytes queued for absent peers over the whole node (default 67108864)");
  serve->add_option("--max-refusals-per-ip", args->max_refusals, "refused requests per address per minute before 429 (default 600)");
  serve->add_option("--max-header-bytes", args->max_header_bytes, "largest HTTP request header block (default 4096)");
  serve->add_flag("--trust-forwarded-for", args->trust_forwarded_for,
                 "per-address limits use the last X-Forwarded-For entry (only behind your own proxy)");
  serve->add_flag("--log-json", args->log_json, "log one JSON object per line on stderr");
  serve->add_option("--log-level", args->log_level, "debug, info, warn, error or off (default: $HYBRID_LOG or info)");
  serve->callback([args, serve] { run_serve(*args, *serve); });
}

const CommandRegistration kRegistration("tunnel", 30, install);

}  // namespace
}  // namespace hybrid::app
