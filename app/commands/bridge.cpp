// `hybrid bridge`: presents a virtual FIDO security key (through /dev/uhid) to every
// program on this machine and serves its CTAP requests with the user's phone over hybrid.
#include <nlohmann/json.hpp>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "app/keylog.h"
#include "app/option_groups.h"
#include "base/log.h"
#include "bridge/bridge.h"
#include "bridge/fake_phone_backend.h"
#include "bridge/hybrid_phone_backend.h"
#include "bridge/socket_hid_device.h"
#include "bridge/uhid_device.h"
#include "roles/link_store.h"
#include "base/core_dumps.h"

namespace hybrid::app {
namespace {

constexpr std::string_view kStage = "bridge";

struct BridgeArgs {
  std::string uhid_path = "/dev/uhid";
  std::string socket_path;
  std::string backend = "hybrid";
  int timeout_seconds = 120;
  std::string qr_png;
  int phone_delay_ms = 0;
  std::string probe_answer = "claim";
  int reuse_window_ms = 5000;
  bool log_json = false;
};

// The hybrid backend's own options. The backend registry hands factories only the common
// PhoneBackendConfig, so the command line fills this before the factory runs.
struct HybridBackendArgs {
  TunnelChoiceOptions tunnel;
  BluetoothOptions bluetooth;
  LinkingOptions linking;
  int advert_timeout_seconds = 60;
  std::string qr_terminal = "auto";
  bool no_notify = false;
};
HybridBackendArgs g_hybrid_args;

std::atomic<bridge::Bridge*> g_running_bridge{nullptr};

void on_stop_signal(int) {
  if (auto* b = g_running_bridge.load()) b->stop();  // atomic store + eventfd write: signal-safe
}

// The real phone: each makeCredential/getAssertion becomes one hybrid transaction (QR code,
// or the linked phone named by --phone with a QR code as fallback).
Result<std::unique_ptr<bridge::PhoneBackend>> make_hybrid_backend(const bridge::PhoneBackendConfig& config) {
  const HybridBackendArgs& a = g_hybrid_args;
  bridge::HybridPhoneBackendOptions o;
  o.tunnel_override = a.tunnel.tunnel_override;
  o.ca_file = a.tunnel.ca_file;
  o.timeout = std::chrono::seconds(config.timeout_seconds);
  if (a.advert_timeout_seconds <= 0) return make_error("--advert-timeout must be a positive number of seconds");
  o.advert_timeout = std::chrono::seconds(a.advert_timeout_seconds);
  o.dbus_address = a.bluetooth.dbus_address;
  o.adapter = a.bluetooth.adapter;
  o.power_on = a.bluetooth.power_on;
  o.link_store_path = a.linking.link_store;
  o.phone = a.linking.phone;
  o.offer_linking = !a.linking.no_linking;
  if (a.qr_terminal == "always") {
    o.qr_on_terminal = true;
  } else if (a.qr_terminal == "never") {
    o.qr_on_terminal = false;
  } else if (a.qr_terminal == "auto") {
    o.qr_on_terminal = !bridge::stderr_is_journal();
  } else {
    return make_error("--qr-terminal must be auto, always or never, got \"" + a.qr_terminal + "\"");
  }
  o.qr_png_path = config.qr_png_path;
  if (a.no_notify) o.notify_program.clear();
  o.on_keylog = [](const std::string& line) { append_keylog(line); };
  auto backend = bridge::HybridPhoneBackend::create(std::move(o));
  if (!backend) return backend.error();
  return std::unique_ptr<bridge::PhoneBackend>(std::move(*backend));
}

const bridge::PhoneBackendRegistration kHybridBackend(
    "hybrid", "your phone over hybrid (QR code, or a linked phone)", make_hybrid_backend);

Result<std::unique_ptr<bridge::PhoneBackend>> make_backend(const BridgeArgs& args) {
  if (args.backend == "software") {
    log::warn(kStage, "--backend software: the project's software authenticator (in memory) answers instead of a phone; "
                      "its credentials vanish when the bridge stops");
    return std::unique_ptr<bridge::PhoneBackend>(
        bridge::FakePhoneBackend::with_software_authenticator(bridge::Millis(args.phone_delay_ms)));
  }
  if (const auto* registered = bridge::find_phone_backend(args.backend)) {
    bridge::PhoneBackendConfig config;
    config.timeout_seconds = args.timeout_seconds;
    config.qr_png_path = args.qr_png;
    return registered->factory(config);
  }
  std::string available = "software";
  for (const auto& b : bridge::registered_phone_backends()) available += ", " + b.name;
  return make_error("unknown backend \"" + args.backend + "\"; available: " + available);
}

int run_bridge(const BridgeArgs& args) {
  if (auto hardened = keep_secrets_out_of_core_dumps(); !hardened) log::warn("app", "{}", hardened.error().message);
  if (args.log_json) log::set_json(true);
  if (args.timeout_seconds <= 0) {
    log::error(kStage, "--timeout must be a positive number of seconds");
    return kUsage;
  }
  bridge::BridgeOptions options;
  options.front.phone_timeout = std::chrono::seconds(args.timeout_seconds);
  options.front.assertion_reuse_window = bridge::Millis(args.reuse_window_ms);
  if (args.probe_answer == "claim") {
    options.front.probe_answer = bridge::ProbeAnswer::claim_first_credential;
  } else if (args.probe_answer == "no-credentials") {
    options.front.probe_answer = bridge::ProbeAnswer::no_credentials;
  } else {
    log::error(kStage, "--probe-answer must be claim or no-credentials, got \"{}\"", args.probe_answer);
    return kUsage;
  }

  auto backend = make_backend(args);
  if (!backend.ok()) {
    log::error(kStage, "{}", backend.error().message);
    return kUsage;
  }

  std::unique_ptr<bridge::HidDevice> device;
  nlohmann::json ready{{"ready", true}, {"backend", args.backend}};
  if (!args.socket_path.empty()) {
    device = bridge::SocketHidDevice::listen_at(args.socket_path);
    ready["transport"] = "socket";
    ready["path"] = args.socket_path;
  } else {
    device = std::make_unique<bridge::UhidDevice>(args.uhid_path);
    ready["transport"] = "uhid";
    ready["path"] = args.uhid_path;
  }
  if (auto st = device->open(); !st.ok()) {
    log::error(kStage, "{}", st.error().message);
    return kDeviceUnavailable;
  }

  Status status;
  bridge::BridgeStats stats;
  {
    bridge::Bridge bridge(*device, **backend, options);
    g_running_bridge.store(&bridge);
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_term{}, old_int{};
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);

    std::cout << ready.dump() << std::endl;
    sd_notify(0, "READY=1");
    log::info(kStage, "serving {} with the {} backend", device->describe(), args.backend);
    status = bridge.run();
    sd_notify(0, "STOPPING=1");

    g_running_bridge.store(nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGINT, &old_int, nullptr);
    stats = bridge.stats();
  }  // the bridge cancels a phone transaction still running; late answers find it gone
  device->close();

  const auto& f = stats.front;
  nlohmann::json summary{{"stopped", true},
                         {"ctap_requests", f.requests},
                         {"answered_locally", f.answered_locally},
                         {"phone_transactions", f.phone_transactions},
                         {"probes_answered", f.probes_answered},
                         {"transports_stripped", f.transports_stripped},
                         {"assertions_reused", f.assertions_reused},
                         {"cancels", f.cancels},
                         {"timeouts", f.timeouts},
                         {"reports_in", stats.reports_in},
                         {"reports_out", stats.reports_out}};
  if (!status.ok()) {
    log::error(kStage, "{}", status.error().message);
    summary["error"] = status.error().message;
    std::cout << summary.dump() << std::endl;
    return kInternalError;
  }
  std::cout << summary.dump() << std::endl;
  return kOk;
}

const CommandRegistration kBridgeCommand("bridge", 60, [](CLI::App& root) {
  auto args = std::make_shared<BridgeArgs>();
  auto* cmd = root.add_subcommand(
      "bridge",
      "Present a virtual FIDO security key to this machine (Firefox, ssh, pam-u2f, libfido2…)\n"
      "and serve its requests with your phone over hybrid (QR code or linked phone).\n"
      "getInfo and silent pre-flight probes are answered locally; makeCredential and\n"
      "getAssertion go to the phone. Prints {\"ready\":true,…} on stdout once the device\n"
      "exists, and a {\"stopped\":true,…} summary when SIGTERM/SIGINT stops it.\n"
      "Needs read-write access to /dev/uhid: see docs/bridge.md for the udev rule.");
  cmd->add_option("--uhid", args->uhid_path, "uhid device node")->capture_default_str();
  cmd->add_option("--socket", args->socket_path,
                  "testing: instead of /dev/uhid, carry raw 64-byte CTAPHID reports over a Unix\n"
                  "SOCK_SEQPACKET socket listening at this path (several programs at once, like hidraw)");
  cmd->add_option("--backend", args->backend,
                  "what answers the requests: hybrid (your phone) or software (the project's\n"
                  "software authenticator, in memory; for tests)")
      ->capture_default_str();
  cmd->add_option("--timeout", args->timeout_seconds,
                  "seconds one phone transaction may take before the client gets\n"
                  "CTAP2_ERR_USER_ACTION_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--qr-png", args->qr_png,
                  "hybrid backend: also write each QR code to this PNG file (mode 0600; removed\n"
                  "when the transaction ends)");
  auto& h = g_hybrid_args;
  cmd->add_option("--qr-terminal", h.qr_terminal,
                  "hybrid backend: draw the QR code on stderr: auto (unless stderr is the systemd\n"
                  "journal: a QR code holds a secret and must not land in a log), always, never")
      ->capture_default_str();
  cmd->add_flag("--no-notify", h.no_notify,
                "hybrid backend: no desktop notification (by default notify-send announces each\n"
                "QR code when it is installed)");
  constexpr HelpPrefix kHybridBackend{"hybrid backend: "};
  add_tunnel_choice_options(*cmd, h.tunnel, kHybridBackend);
  add_bluetooth_options(*cmd, h.bluetooth, PowerOnFlag::kOffered, kHybridBackend);
  add_advert_timeout_option(*cmd, h.advert_timeout_seconds, kHybridBackend);
  add_linking_options(*cmd, h.linking, kHybridBackend);
  cmd->add_option("--phone-delay", args->phone_delay_ms,
                  "software backend: answer after this many milliseconds (to exercise CANCEL)")
      ->capture_default_str();
  cmd->add_option("--probe-answer", args->probe_answer,
                  "answer to silent up=false probes with an allowList: claim (a pre-flight match\n"
                  "naming the first credential; Firefox needs it) or no-credentials")
      ->capture_default_str();
  cmd->add_option("--reuse-window", args->reuse_window_ms,
                  "milliseconds during which the phone's last assertion answers a repeated,\n"
                  "directed getAssertion for the same ceremony")
      ->capture_default_str();
  cmd->add_flag("--log-json", args->log_json, "log to stderr as JSON lines");
  cmd->callback([args] { set_exit_code(run_bridge(*args)); });
});

}  // namespace
}  // namespace hybrid::app
