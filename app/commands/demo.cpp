// `hybrid demo`: the project's main job. Starts a private D-Bus with the virtual air, a
// tunnel server and the kiosk on localhost, prints the kiosk's URL and QR code, runs
// narrated scripted visits with software phones, then keeps the kiosk up until Ctrl-C
// (or, with --once, exits 0 only if every visit went as expected). docs/kiosk.md.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/json_text.h"
#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "app/option_groups.h"
#include "base/log.h"
#include "demo/demo_runner.h"
#include "base/core_dumps.h"

namespace hybrid::app {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct DemoArgs {
  bool once = false, verbose = false, no_qr = false, no_browser = false;
  std::string listen = "127.0.0.1:0", dir, policy, chromium;
  double pace_s = -1, visit_timeout_s = 60, qr_timeout_s = 60, think_s = -1;
};

std::string self_path() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "hybrid";
  return std::string(buf, static_cast<size_t>(n));
}

int run(const DemoArgs& a) {
  if (auto hardened = keep_secrets_out_of_core_dumps(); !hardened) log::warn("app", "{}", hardened.error().message);
  if (!a.verbose && !std::getenv("HYBRID_LOG")) log::set_threshold(log::Level::warn);
  if (a.visit_timeout_s < 5 || a.visit_timeout_s > 600) {
    std::fprintf(stderr, "hybrid demo: --visit-timeout must be 5…600 seconds\n");
    return kUsage;
  }
  if (a.qr_timeout_s < 5 || a.qr_timeout_s > 600) {
    std::fprintf(stderr, "hybrid demo: --qr-timeout must be 5…600 seconds\n");
    return kUsage;
  }
  demo::DemoOptions o;
  o.once = a.once;
  o.listen = a.listen;
  o.dir = a.dir;
  o.policy_path = a.policy;
  o.program = self_path();
  o.pace = std::chrono::milliseconds(static_cast<int64_t>((a.pace_s >= 0 ? a.pace_s : (a.once ? 0 : 4)) * 1000));
  o.visit_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.visit_timeout_s * 1000));
  o.qr_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.qr_timeout_s * 1000));
  o.think_time = std::chrono::milliseconds(static_cast<int64_t>((a.think_s >= 0 ? a.think_s : (a.once ? 0 : 1.5)) * 1000));
  // The drawing is for a person at a terminal, not for CI logs.
  o.terminal_qr = !a.no_qr && (!a.once || isatty(STDOUT_FILENO));
  o.website_visits = !a.no_browser;
  o.chromium = a.chromium;

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  demo::DemoResult r = demo::run_demo(o, g_stop);
  if (!r.error.empty()) {
    std::fprintf(stderr, "hybrid demo: %s\n", r.error.c_str());
    return kInternalError;
  }
  if (a.once) {
    nlohmann::json visits = nlohmann::json::array();
    for (const auto& v : r.visits) {
      visits.push_back({{"title", v.title}, {"ok", v.ok}, {"outcome", v.outcome}, {"rule", v.rule},
                        {"detail", v.detail}, {"seconds", v.seconds}});
    }
    std::cout << to_json_text(nlohmann::json{{"ok", r.ok}, {"visits", visits}}) << std::endl;
  }
  if (!a.once) return kOk;  // Ctrl-C is how a person ends the demo
  if (r.cancelled) return kCancelled;
  return r.ok ? kOk : kInternalError;
}

const CommandRegistration kDemo("demo", 5, [](CLI::App& root) {
  auto a = std::make_shared<DemoArgs>();
  auto* cmd = root.add_subcommand(
      "demo",
      "The main demo: a passkey kiosk, a tunnel server and Bluetooth (the virtual air), all on this machine.\n"
      "Prints the kiosk's URL and QR code, runs narrated visits by software phones (a synced passkey registered\n"
      "and used; a device-bound attested one under an attestation-enforced profile; refusals under a\n"
      "device-bound-only profile and a provider block list; then visits to the kiosk's website in Chromium through\n"
      "`hybrid browser`, skipped with a message where Chromium is not installed), then keeps the kiosk up until\n"
      "Ctrl-C, which stops\n"
      "everything it started. --once: exit 0 only if every visit went as expected (JSON summary last on stdout).\n"
      "See docs/kiosk.md.\n");
  cmd->add_flag("--once", a->once, "run the scripted visits and exit (for CI)");
  cmd->add_option("--listen", a->listen, "HOST:PORT for the kiosk page (default 127.0.0.1:0, a free port)");
  cmd->add_option("--dir", a->dir, "keep the demo's files (phone stores, database, logs) here instead of a temp dir");
  cmd->add_option("--policy", a->policy, "passkey policy file (default: the built-in demo policy, demo/kiosk-policy.json)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--pace", a->pace_s, "seconds to pause after each visit (default 4, 0 with --once)");
  cmd->add_option("--think-time", a->think_s,
                  "seconds each software phone waits before answering, as a person would (default 1.5, 0 with --once)");
  cmd->add_option("--visit-timeout", a->visit_timeout_s, "seconds each scripted visit may take (default 60)");
  add_qr_timeout_option(*cmd, a->qr_timeout_s);
  add_no_qr_flag(*cmd, a->no_qr);
  cmd->add_flag("--no-browser", a->no_browser, "leave out the visits to the kiosk's website in Chromium (`hybrid browser`)");
  cmd->add_option("--chromium", a->chromium, "the Chromium program for the website visits (default: chromium on $PATH)");
  cmd->add_flag("--verbose", a->verbose, "log every stage on stderr (default: warnings only)");
  cmd->callback([a] { set_exit_code(run(*a)); });
});

}  // namespace
}  // namespace hybrid::app
