// `hybrid tunnel serve`: the tunnel service phones and PCs meet on (docs/protocol.md §7), with limits,
// TLS, /healthz, /metrics and the push channel for linked software phones. docs/tunnel.md
// describes operation, the config file and multi-node deployment.
#include <nlohmann/json.hpp>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <type_traits>
#include <variant>
#include <fstream>
#include <iostream>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "base/log.h"
#include "crypto/primitives.h"
#include "tunnel/config_file.h"
#include "tunnel/server.h"

namespace hybrid::app {
namespace {

constexpr std::string_view kStage = "tunnel";

struct ServeArgs {
  tunnel::ServeSettings settings;  // from the flags; the file fills what they leave
  std::string config_file;
  bool check_config = false;
};

std::atomic<tunnel::TunnelServer*> g_server{nullptr};
int g_reload_fd = -1;  // eventfd: SIGHUP asks the reload thread to re-read the file

// SIGTERM drains (systemd stop, rolling restarts); a second SIGTERM stops at once.
std::atomic<int> g_terms{0};
void on_drain_signal(int) {
  auto* s = g_server.load();
  if (!s) return;
  if (g_terms.fetch_add(1) == 0) s->drain();
  else s->stop();
}

void on_stop_signal(int) {
  if (auto* s = g_server.load()) s->stop();  // atomic store + lws_cancel_service (a pipe write)
}

void on_hup_signal(int) {
  uint64_t one = 1;
  if (g_reload_fd >= 0) (void)!write(g_reload_fd, &one, sizeof one);
}

std::optional<log::Level> parse_level(const std::string& name) {
  static const std::pair<const char*, log::Level> levels[] = {
      {"debug", log::Level::debug}, {"info", log::Level::info}, {"warn", log::Level::warn},
      {"error", log::Level::error}, {"off", log::Level::off}};
  for (auto& [n, level] : levels) {
    if (name == n) return level;
  }
  return std::nullopt;
}

void apply_logging(const tunnel::ServeSettings& s, log::Level default_level) {
  log::set_json(tunnel::wants_json_logs(s));
  log::set_threshold(s.log_level.empty() ? default_level : parse_level(s.log_level).value_or(default_level));
}

// The flags given on the command line win over the file, at start and on every reload.
std::function<bool(std::string_view)> pinned_by(const CLI::App& cmd) {
  return [&cmd](std::string_view flag) {
    // --log-json and --log-format are one setting: either flag pins both.
    auto count = [&](std::string_view f) {
      const CLI::Option* o = cmd.get_option_no_throw(std::string(f));
      return o && o->count() > 0;
    };
    if (flag == "--log-json" || flag == "--log-format") return count("--log-json") || count("--log-format");
    return count(flag);
  };
}

Result<tunnel::ServeSettings> effective_settings(const ServeArgs& a, const CLI::App& cmd) {
  tunnel::ServeSettings s = a.settings;
  if (!a.config_file.empty()) {
    HYBRID_TRY(auto file, tunnel::read_config_file(a.config_file));
    tunnel::apply_config(file, s, pinned_by(cmd));
  }
  return s;
}

// SIGHUP: re-reads the file; applies log level/format and the limits a running node can
// change, keeps every tunnel, and names the fields that need a restart. A bad file changes
// nothing.
void reload(const ServeArgs& a, const CLI::App& cmd, tunnel::ServeSettings& current, log::Level default_level,
            tunnel::TunnelServer& server) {
  if (a.config_file.empty()) {
    log::warn(kStage, "SIGHUP: no --config file to re-read; nothing changed");
    return;
  }
  auto next = effective_settings(a, cmd);
  if (!next) {
    log::error(kStage, "SIGHUP: the configuration was not reloaded, the node keeps running as before: {}",
               next.error().message);
    return;
  }
  auto limits = tunnel::server_limits(*next);
  if (!limits) {
    log::error(kStage, "SIGHUP: the configuration was not reloaded: {}", limits.error().message);
    return;
  }
  std::string applied, restart;
  for (const auto* f : tunnel::changed_fields(current, *next)) {
    std::string& list = f->reload == tunnel::Reload::live ? applied : restart;
    list += (list.empty() ? "" : ", ") + std::string(f->key);
  }
  // Restart-only fields keep their running values so that a later reload reports them again.
  tunnel::ServeSettings kept = *next;
  for (const auto& f : tunnel::config_fields()) {
    if (f.reload == tunnel::Reload::restart) std::visit([&](auto m) { kept.*m = current.*m; }, f.member);
  }
  current = kept;
  apply_logging(current, default_level);
  server.update_limits(*limits);
  log::info(kStage, "SIGHUP: configuration reloaded from {}; applied: {}; need a restart: {}", a.config_file,
            applied.empty() ? "none" : applied, restart.empty() ? "none" : restart);
  if (!restart.empty()) log::warn(kStage, "SIGHUP: {} changed in {} but only take effect after a restart", restart, a.config_file);
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

void run_serve(const ServeArgs& args, const CLI::App& cmd) {
  auto settings = effective_settings(args, cmd);
  if (!settings) {
    std::fprintf(stderr, "hybrid tunnel serve: %s\n", settings.error().message.c_str());
    return set_exit_code(kUsage);
  }
  auto config = tunnel::server_config(*settings);
  if (!config) {
    std::fprintf(stderr, "hybrid tunnel serve: %s\n", config.error().message.c_str());
    return set_exit_code(kUsage);
  }
  if (args.check_config) {
    for (const std::string* f : {&settings->tls_cert, &settings->tls_key}) {
      if (!f->empty() && access(f->c_str(), R_OK) != 0) {
        std::fprintf(stderr, "hybrid tunnel serve: cannot read %s: %s\n", f->c_str(), std::strerror(errno));
        return set_exit_code(kUsage);
      }
    }
    std::printf("%s: configuration ok\n", args.config_file.empty() ? "flags" : args.config_file.c_str());
    return set_exit_code(kOk);
  }
  const log::Level default_level = log::threshold();  // $HYBRID_LOG or info
  apply_logging(*settings, default_level);
  raise_fd_limit(config->limits.max_connections);
  auto server = tunnel::TunnelServer::create(*config);
  if (!server) {
    log::error(kStage, "{}", server.error().message);
    return set_exit_code(kNetwork);
  }
  g_server = server->get();
  std::signal(SIGTERM, on_drain_signal);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGPIPE, SIG_IGN);
  g_reload_fd = eventfd(0, EFD_CLOEXEC);
  std::atomic<bool> reloader_stop{false};
  tunnel::ServeSettings current = *settings;
  std::thread reloader([&] {
    uint64_t n = 0;
    while (read(g_reload_fd, &n, sizeof n) == static_cast<ssize_t>(sizeof n) || errno == EINTR) {
      if (reloader_stop) break;
      reload(args, cmd, current, default_level, **server);
    }
  });
  std::signal(SIGHUP, on_hup_signal);
  nlohmann::json ready = {{"ready", true},
                          {"url", (*server)->url()},
                          {"port", (*server)->port()},
                          {"routing_id", config->routing_id.hex_upper()}};
  std::cout << ready.dump() << std::endl;
  if (std::getenv("NOTIFY_SOCKET")) sd_notify(0, "READY=1");
  (*server)->run();
  if (std::getenv("NOTIFY_SOCKET")) sd_notify(0, "STOPPING=1");
  std::signal(SIGHUP, SIG_IGN);
  reloader_stop = true;
  on_hup_signal(0);
  reloader.join();
  close(g_reload_fd);
  g_reload_fd = -1;
  g_server = nullptr;
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  set_exit_code(kOk);
}

// The flag of one row of the config file's table, writing the member the file's key writes.
void add_setting_flag(CLI::App& serve, const tunnel::ConfigField& f, tunnel::ServeSettings& settings) {
  const std::string flag(f.flag), help(f.help);
  std::visit(
      [&](auto member) {
        auto& value = settings.*member;
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, bool>) {
          serve.add_flag(flag, value, help);
        } else {
          CLI::Option* o = serve.add_option(flag, value, help);
          if (f.flag == "--listen") o->capture_default_str();
          if (f.flag == "--log-format") o->check(CLI::IsMember({"text", "json"}));
        }
      },
      f.member);
}

void install(CLI::App& root) {
  auto* tunnel = root.add_subcommand("tunnel", "Run the caBLE tunnel service that phones and PCs meet on.");
  tunnel->require_subcommand(1);
  auto args = std::make_shared<ServeArgs>();
  auto* serve = tunnel->add_subcommand(
      "serve",
      "Serve /cable/new, /cable/connect, /cable/contact and /cable/push WebSockets plus /healthz and\n"
      "/metrics. Prints one JSON line {\"ready\":true,\"url\":…,\"routing_id\":…} on stdout when ready;\n"
      "SIGTERM drains (refuses /new, /contact and /push, /healthz answers 503, tunnels run to their\n"
      "end or TTL) and exits 0; SIGINT or a second SIGTERM closes every tunnel with 1001 at once.\n"
      "Flags override --config. SIGHUP re-reads --config: log level/format and most limits apply at\n"
      "once, open tunnels stay.");
  serve->add_option("--config", args->config_file, "JSON config file (keys: see docs/tunnel.md)");
  // One flag for each setting of the config file, declared from its table.
  for (const tunnel::ConfigField& f : tunnel::config_fields()) add_setting_flag(*serve, f, args->settings);
  serve->add_flag("--check-config", args->check_config,
                  "validate the flags and the --config file (naming a bad key and its line), then exit 0 or 2");
  serve->callback([args, serve] { run_serve(*args, *serve); });
}

const CommandRegistration kRegistration("tunnel", 30, install);

}  // namespace
}  // namespace hybrid::app
