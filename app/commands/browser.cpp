// `hybrid browser`: Debian's Chromium as a hybrid client on any Linux machine, no Bluetooth
// needed, with a software phone that reads the QR code off the screen. Prints one JSON
// ready line with the DevTools endpoint (for Selenium, Playwright or plain CDP), then one
// JSON line per event; runs until Ctrl-C/SIGTERM or --timeout. docs/browser.md.
#include <signal.h>

#include <atomic>
#include <cmath>
#include <thread>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "app/option_groups.h"
#include "base/log.h"
#include "browser/browser_session.h"

namespace hybrid::app {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct BrowserArgs {
  std::string chromium = "chromium", xvfb = "Xvfb", certutil = "certutil";
  bool real_bluetooth = false, force_xvfb = false, no_phone = false, verbose = false;
  std::string store, kind = "synced", approve = "always", url = "about:blank", log_dir;
  int domain_id = 0, devtools_port = 0, tunnel_port = 0;
  double timeout_s = 0, start_timeout_s = 45, transaction_timeout_s = 60;
};

// Events go to stdout as JSON lines, after the ready line (earlier ones wait for it).
class EventPrinter {
 public:
  void ready(const nlohmann::json& j) {
    std::lock_guard lock(mu_);
    print(j);
    ready_ = true;
    for (auto& e : pending_) print(e);
    pending_.clear();
  }
  void event(nlohmann::json j) {
    j["t"] = std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() * 1000) / 1000;
    std::lock_guard lock(mu_);
    if (ready_) print(j);
    else pending_.push_back(std::move(j));
  }

 private:
  static void print(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }
  std::mutex mu_;
  bool ready_ = false;
  std::vector<nlohmann::json> pending_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

int run(const BrowserArgs& a) {
  if (!a.verbose && !std::getenv("HYBRID_LOG")) log::set_threshold(log::Level::warn);
  auto approve = browser::approval_from_name(a.approve);
  if (!approve.ok()) return std::fprintf(stderr, "hybrid browser: %s\n", approve.error().message.c_str()), kUsage;
  if (a.kind != "synced" && a.kind != "device-bound") {
    return std::fprintf(stderr, "hybrid browser: --kind must be synced or device-bound\n"), kUsage;
  }
  if (a.domain_id < 0 || a.domain_id > 65535 || a.devtools_port < 0 || a.devtools_port > 65535 || a.tunnel_port < 0 ||
      a.tunnel_port > 65535) {
    return std::fprintf(stderr, "hybrid browser: --domain-id and ports must be 0…65535\n"), kUsage;
  }
  if (a.start_timeout_s < 1 || a.transaction_timeout_s < 1 || a.timeout_s < 0) {
    return std::fprintf(stderr, "hybrid browser: timeouts must be positive\n"), kUsage;
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  EventPrinter printer;
  browser::BrowserOptions o;
  o.chromium = a.chromium;
  o.xvfb = a.xvfb;
  o.certutil = a.certutil;
  o.real_bluetooth = a.real_bluetooth;
  o.force_xvfb = a.force_xvfb;
  o.phone = !a.no_phone;
  o.store = a.store;
  o.kind = a.kind;
  o.approve = *approve;
  o.domain_id = static_cast<uint16_t>(a.domain_id);
  o.devtools_port = static_cast<uint16_t>(a.devtools_port);
  o.tunnel_port = static_cast<uint16_t>(a.tunnel_port);
  o.url = a.url;
  o.log_dir = a.log_dir;
  o.start_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.start_timeout_s * 1000));
  o.transaction_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.transaction_timeout_s * 1000));
  o.on_event = [&printer](const nlohmann::json& j) { printer.event(j); };

  browser::BrowserSession::Error error;
  auto session = browser::BrowserSession::start(o, error);
  if (!session) {
    std::fprintf(stderr, "hybrid browser: %s\n", error.message.c_str());
    std::cout << nlohmann::json{{"ready", false}, {"error", error.message}}.dump() << std::endl;
    if (g_stop) return kCancelled;
    switch (error.kind) {
      case browser::StartFailure::missing_program: return kInvalidInput;
      case browser::StartFailure::port_in_use: return kNetwork;
      case browser::StartFailure::timeout: return kTimeout;
      case browser::StartFailure::other: return kInternalError;
    }
    return kInternalError;
  }
  printer.ready(session->ready_json());

  std::atomic<bool> stop_waiting{false};
  std::thread timer;
  if (a.timeout_s > 0) {
    timer = std::thread([&] {
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000));
      while (!g_stop && !stop_waiting && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      g_stop = true;
    });
  }
  std::string why = session->wait(g_stop);
  stop_waiting = true;
  if (timer.joinable()) timer.join();
  session.reset();  // stops everything, removes the temporary directory
  if (!why.empty()) {
    std::fprintf(stderr, "hybrid browser: %s\n", why.c_str());
    printer.event({{"event", "stopped"}, {"error", why}});
    return kInternalError;
  }
  printer.event({{"event", "stopped"}});
  return kOk;
}

const CommandRegistration kBrowser("browser", 6, [](CLI::App& root) {
  auto a = std::make_shared<BrowserArgs>();
  auto* cmd = root.add_subcommand(
      "browser",
      "Debian's Chromium as a hybrid client on this machine, no Bluetooth needed, for a person or a test to drive.\n"
      "Starts a private D-Bus playing the system bus with the virtual air, Xvfb when there is no $DISPLAY, a throwaway\n"
      "CA trusted through a temporary NSS DB, a TLS tunnel server at the tunnel names (resolver rules send them here and\n"
      "nothing else off the machine), a fresh profile, and a software phone that reads the QR code off the screen\n"
      "(libzbar) and answers from its passkey store. Prints one JSON ready line with the DevTools endpoint, e.g.\n"
      "  {\"ready\":true,\"devtools\":\"http://127.0.0.1:PORT\",\"websocket\":\"ws://127.0.0.1:PORT/devtools/browser/…\",…}\n"
      "then one JSON line per event (qr_shown, tunnel_joined, advert_sent, handshake_done, ctap_command, ctap_status,\n"
      "credential_returned, account_picker_confirmed, transaction_done, stopped). Ctrl-C stops everything it started\n"
      "and removes its temporary files. Exit codes: 0 stopped (signal or --timeout), 1 a child crashed or another\n"
      "failure, 2 bad command line, 3 a program is missing (the message names the Debian package), 12 start-up timed\n"
      "out, 15 a port is in use. See docs/browser.md.\n");
  cmd->add_option("--url", a->url, "page to open (default about:blank; drive it through DevTools)");
  cmd->add_option("--store", a->store, "the phone's passkey store (default: a throwaway one)");
  cmd->add_option("--kind", a->kind, "passkeys the phone creates: synced | device-bound (default synced)");
  cmd->add_option("--approve", a->approve, "the phone's answer to each request: always | never | ask (on the terminal)");
  cmd->add_flag("--no-phone", a->no_phone, "no software phone (answer the QR code yourself, e.g. with `hybrid phone`)");
  cmd->add_option("--domain-id", a->domain_id,
                  "tunnel domain the phone advertises: 0 cable.ua5v.com (default), 1 cable.auth.com, 256… a hashed name");
  cmd->add_option("--devtools-port", a->devtools_port, "DevTools port on 127.0.0.1 (default 0: a free one)");
  cmd->add_option("--tunnel-port", a->tunnel_port, "tunnel server port on 127.0.0.1 (default 0: a free one)");
  cmd->add_option("--log-dir", a->log_dir,
                  "keep logs here: chromium.log with Chromium's FIDO/Bluetooth event log (it holds CTAP messages), xvfb.log");
  cmd->add_flag("--real-bluetooth", a->real_bluetooth,
                "use this machine's BlueZ and the real tunnel servers (a real phone answers; no software phone)");
  cmd->add_flag("--xvfb", a->force_xvfb, "run Chromium on a private Xvfb even when $DISPLAY is set");
  cmd->add_option("--chromium", a->chromium, "the Chromium program (default: chromium on $PATH)");
  cmd->add_option("--xvfb-program", a->xvfb, "the Xvfb program (default: Xvfb on $PATH)");
  cmd->add_option("--certutil", a->certutil, "the certutil program (default: certutil on $PATH)");
  add_service_timeout_option(*cmd, a->timeout_s);
  cmd->add_option("--start-timeout", a->start_timeout_s, "seconds to wait for Xvfb and Chromium to start (default 45)");
  cmd->add_option("--transaction-timeout", a->transaction_timeout_s, "seconds one phone transaction may take (default 60)");
  cmd->add_flag("--verbose", a->verbose, "log every stage on stderr");
  cmd->callback([a] { set_exit_code(run(*a)); });
});

}  // namespace
}  // namespace hybrid::app
