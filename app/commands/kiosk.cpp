// `hybrid kiosk`: the demo kiosk, a relying party with a web page that is the hybrid client
// itself (QR code, BLE advert, tunnel, CTAP), with accounts in SQLite and passkey profiles
// from a policy file. Prints {"ready":true,"url":"http://…/"} once serving. docs/kiosk.md.
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/cli_text.h"
#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "app/option_groups.h"
#include "base/log.h"
#include "demo/default_policy.h"
#include "demo/kiosk_app.h"
#include "base/core_dumps.h"

namespace hybrid::app {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct KioskArgs {
  std::string listen = "127.0.0.1:0";
  TunnelChoiceOptions tunnel;
  BluetoothOptions bluetooth;  // --power-on is not offered: a kiosk leaves the adapter as it is
  std::string policy, db = ":memory:";
  std::vector<std::string> roots, allowed_hosts;
  std::string rp_id = "kiosk.hybrid.example", rp_name = "Hybrid Kiosk", origin, title = "Hybrid passkey kiosk";
  double qr_timeout_s = 60, clear_after_s = 8, timeout_s = 0;
  unsigned status_ping_after_s = 20, status_hangup_after_s = 40;
  std::string phone_store_synced, phone_store_device_bound;
  uint16_t phone_domain_id = 0;
};

std::string self_path() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "hybrid";
  return std::string(buf, static_cast<size_t>(n));
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "hybrid kiosk: %s\n", message.c_str());
  return code;
}

int run_kiosk(const KioskArgs& a) {
  if (auto hardened = keep_secrets_out_of_core_dumps(); !hardened) log::warn("app", "{}", hardened.error().message);
  demo::KioskAppConfig c;
  auto listen = demo::parse_listen(a.listen);
  if (!listen.ok()) return fail(kUsage, listen.error().message);
  c.listen = *listen;
  c.listen.allowed_hosts = a.allowed_hosts;
  if (a.status_ping_after_s < 1 || a.status_hangup_after_s <= a.status_ping_after_s || a.status_hangup_after_s > 65535) {
    return fail(kUsage, "--status-ping-after must be at least 1 s and below --status-hangup-after (at most 65535 s)");
  }
  c.listen.status_ping_after = std::chrono::seconds(a.status_ping_after_s);
  c.listen.status_hangup_after = std::chrono::seconds(a.status_hangup_after_s);
  if (a.qr_timeout_s < 5 || a.qr_timeout_s > 600) return fail(kUsage, "--qr-timeout must be 5…600 seconds");
  if (a.clear_after_s < 1 || a.clear_after_s > 300) return fail(kUsage, "--clear-after must be 1…300 seconds");

  auto policy = a.policy.empty() ? demo::default_policy() : webauthn::PasskeyPolicy::load(a.policy);
  if (!policy.ok()) return fail(kInvalidInput, policy.error().message);
  c.policy = std::move(*policy);
  for (const auto& path : a.roots) {
    std::ifstream in(path);
    if (!in) return fail(kInvalidInput, "cannot read the attestation root " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    auto certs = ctap::Certificate::all_from_pem(ss.str());
    if (!certs.ok()) return fail(kInvalidInput, path + ": " + certs.error().message);
    for (auto& cert : *certs) c.attestation_roots.push_back(std::move(cert));
  }
  c.tunnel_override = a.tunnel.tunnel_override;
  c.ca_file = a.tunnel.ca_file;
  c.dbus_address = a.bluetooth.dbus_address;
  c.adapter = a.bluetooth.adapter;
  c.db_path = a.db;
  c.rp_id = a.rp_id;
  c.rp_name = a.rp_name;
  c.origin = a.origin;
  c.kiosk.qr_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.qr_timeout_s * 1000));
  c.kiosk.clear_after = std::chrono::milliseconds(static_cast<int64_t>(a.clear_after_s * 1000));
  c.kiosk.title = a.title;
  c.kiosk.phone.program = self_path();
  c.kiosk.phone.tunnel_url = a.tunnel.tunnel_override;
  c.kiosk.phone.dbus_address = a.bluetooth.dbus_address.empty()
                                   ? (getenv(ble::kDbusAddressEnv) ? getenv(ble::kDbusAddressEnv) : "")
                                   : a.bluetooth.dbus_address;
  c.kiosk.phone.synced_store = a.phone_store_synced;
  c.kiosk.phone.device_bound_store = a.phone_store_device_bound;
  c.kiosk.phone.domain_id = a.phone_domain_id;

  auto app = demo::KioskApp::create(std::move(c));
  if (!app.ok()) return fail(kInternalError, app.error().message);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  (*app)->start();
  nlohmann::json ready = {{"ready", true}, {"url", (*app)->url()}, {"rp_id", a.rp_id}, {"site", (*app)->site_url()}};
  std::cout << ready.dump() << std::endl;
  if (std::getenv("NOTIFY_SOCKET")) sd_notify(0, "READY=1");
  log::info("kiosk", "open {} in a browser; stop with Ctrl-C", (*app)->url());

  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000));
  while (!g_stop) {
    if (a.timeout_s > 0 && std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (std::getenv("NOTIFY_SOCKET")) sd_notify(0, "STOPPING=1");
  log::info("kiosk", "stopping");
  (*app)->stop();
  return kOk;
}

const CommandRegistration kKiosk("kiosk", 70, [](CLI::App& root) {
  auto a = std::make_shared<KioskArgs>();
  auto* cmd = root.add_subcommand(
      "kiosk",
      "Run the passkey kiosk: a relying party whose web page shows a QR code to sign in or create a passkey.\n"
      "It is the hybrid client itself (BLE advert, tunnel, Noise, CTAP), keeps accounts in SQLite and enforces\n"
      "the passkey profiles of a policy file. Prints {\"ready\":true,\"url\":\"http://…/\"} once serving; stops on\n"
      "SIGINT/SIGTERM. See docs/kiosk.md.\n");
  cmd->add_option("--listen", a->listen, "HOST:PORT for the web page (default 127.0.0.1:0, a free port)");
  cmd->add_option("--allowed-host", a->allowed_hosts,
                  "a host name browsers use to reach the page (repeatable); IP addresses and localhost always work,\n"
                  "any other Host header is refused (DNS rebinding)");
  cmd->add_option("--status-ping-after", a->status_ping_after_s,
                  "seconds a page's status WebSocket may stay silent before the kiosk pings it (default 20)");
  cmd->add_option("--status-hangup-after", a->status_hangup_after_s,
                  "seconds without a pong or message after which the kiosk closes it (default 40)");
  add_tunnel_choice_options(*cmd, a->tunnel);
  add_bluetooth_options(*cmd, a->bluetooth, PowerOnFlag::kNotOffered);
  cmd->add_option("--policy", a->policy, "passkey policy file (JSON, docs/ctap.md; default: the built-in demo policy)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--attestation-root", a->roots, "trust this PEM attestation root too (repeatable)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--db", a->db, "SQLite file for accounts and passkeys (default :memory:, forgotten on exit)");
  cmd->add_option("--rp-id", a->rp_id, "relying party ID (default kiosk.hybrid.example)")->check(utf8_text());
  cmd->add_option("--rp-name", a->rp_name, "relying party name shown on the phone")->check(utf8_text());
  cmd->add_option("--origin", a->origin, "origin put in clientDataJSON (default https://<rp-id>)")->check(utf8_text());
  cmd->add_option("--title", a->title, "the page's title")->check(utf8_text());
  add_qr_timeout_option(*cmd, a->qr_timeout_s);
  cmd->add_option("--clear-after", a->clear_after_s, "seconds an outcome stays on screen (default 8)");
  cmd->add_option("--phone-store-synced", a->phone_store_synced,
                  "store file named in the page's synced `hybrid phone` command line");
  cmd->add_option("--phone-store-device-bound", a->phone_store_device_bound,
                  "store file named in the page's device-bound `hybrid phone` command line");
  cmd->add_option("--phone-domain-id", a->phone_domain_id, "tunnel domain id in the page's phone command lines (default 0)");
  add_service_timeout_option(*cmd, a->timeout_s);
  cmd->callback([a] { set_exit_code(run_kiosk(*a)); });
});

}  // namespace
}  // namespace hybrid::app
