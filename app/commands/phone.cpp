// `hybrid phone`: a software phone. Scans a QR code (text or PNG), opens a tunnel,
// advertises over BlueZ (or the virtual air), answers the handshake and serves one CTAP
// command from its passkey store; or, with --listen, waits on the push channel for linked
// clients. Prints one JSON line per transaction on stdout.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "base/json_text.h"
#include "app/cli_text.h"
#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "app/option_groups.h"
#include "app/interrupt_watcher.h"
#include "ble/bluez_radio.h"
#include "ctap/authenticator.h"
#include "ctap/commands.h"
#include "ctap/credential_store.h"
#include "qr/scanner.h"
#include "roles/data_dir.h"
#include "roles/phone_identity.h"
#include "roles/phone_runner.h"
#include "roles/terminal_approver.h"
#include "base/atomic_file.h"
#include "base/private_file.h"
#include "base/core_dumps.h"
#include "base/log.h"

namespace hybrid::app {
namespace {

struct PhoneArgs {
  std::string qr, qr_png;
  bool listen = false;
  int max_transactions = 0;
  std::string store, identity, tunnel, ca_file, kind = "synced", approve = "auto", name = "Software phone";
  int domain_id = 0;
  std::string service_uuid = "fff9";
  bool offer_linking = false;
  int timeout_s = 120;
  BluetoothOptions bluetooth;
  std::string attestation;
  int think_time_ms = 0;
  double keepalive_s = 0;
  double reconnect_max_s = 30;
  double push_renew_s = 1800;
};

std::string default_store() { return roles::data_dir() + "/phone-credentials.json"; }

Result<std::string> scan_png(const std::string& path) {
  auto png = read_file(path);
  if (!png) return make_error("could not read the QR code PNG: " + png.error().message);
  auto text = qr::read_qr_png(*png);
  if (!text) return make_error("no QR code read from " + path + ": " + text.error().message);
  return *text;
}

nlohmann::json outcome_json(const roles::PhoneOutcome& o) {
  return {{"ok", o.status == 0},
          {"flow", o.linked_flow ? "linked" : "qr"},
          {"command", std::string(ctap::command_name(o.command))},
          {"status", o.status},
          {"status_name", std::string(ctap::status_name(o.status))},
          {"linking_sent", o.linking_sent}};
}

int run(const PhoneArgs& a) {
  if (auto hardened = keep_secrets_out_of_core_dumps(); !hardened) log::warn("app", "{}", hardened.error().message);
  if (a.qr.empty() && a.qr_png.empty() && !a.listen) {
    std::fprintf(stderr, "hybrid phone: give --qr, --qr-png or --listen\n");
    return kUsage;
  }
  std::string store_path = a.store.empty() ? default_store() : a.store;
  if (a.store.empty()) {
    if (auto made = make_private_dirs(roles::data_dir()); !made) {
      return std::fprintf(stderr, "hybrid phone: %s\n", made.error().message.c_str()), kInvalidInput;
    }
  }
  auto kind = ctap::passkey_kind_from_name(a.kind);
  if (!kind) return std::fprintf(stderr, "hybrid phone: %s\n", kind.error().message.c_str()), kUsage;
  auto store = ctap::CredentialStore::open(store_path);
  if (!store) return std::fprintf(stderr, "hybrid phone: %s\n", store.error().message.c_str()), kInvalidInput;
  auto identity = roles::PhoneIdentity::load_or_create(a.identity.empty() ? store_path + ".identity.json" : a.identity, a.name);
  if (!identity) return std::fprintf(stderr, "hybrid phone: %s\n", identity.error().message.c_str()), kInvalidInput;

  auto config = ctap::AuthenticatorConfig::for_kind(*kind);
  config.provider_name = a.name;
  if (!a.attestation.empty()) {
    auto mode = ctap::attestation_mode_from_name(a.attestation);
    if (!mode) return std::fprintf(stderr, "hybrid phone: %s\n", mode.error().message.c_str()), kUsage;
    config.attestation = *mode;
  }
  std::unique_ptr<ctap::UserApprover> approver;
  if (a.approve == "prompt") approver = std::make_unique<roles::TerminalApprover>(std::chrono::seconds(60));
  else approver = std::make_unique<ctap::AutoApprover>();
  ctap::SoftwareAuthenticator authenticator(*store, config, *approver);

  ble::BluezRadioOptions ro = a.bluetooth.radio_options();
  ro.advertise_uuid = a.service_uuid == "fde2" ? ble::ServiceUuid::fde2 : ble::ServiceUuid::fff9;
  ble::BluezRadio radio(ro);

  roles::PhoneOptions po;
  po.tunnel_base = a.tunnel;
  po.ca_file = a.ca_file;
  po.domain_id = static_cast<uint16_t>(a.domain_id);
  po.offer_linking = a.offer_linking;
  po.timeout = std::chrono::seconds(a.timeout_s);
  po.think_time = std::chrono::milliseconds(a.think_time_ms);
  if (a.keepalive_s > 0) po.keepalive_interval = std::chrono::milliseconds(static_cast<int64_t>(a.keepalive_s * 1000));
  po.reconnect_max = std::chrono::milliseconds(static_cast<int64_t>(a.reconnect_max_s * 1000));
  po.push_renew_interval = std::chrono::milliseconds(static_cast<int64_t>(a.push_renew_s * 1000));
  po.on_progress = [](const std::string& s) { std::fprintf(stderr, "phone: %s\n", s.c_str()); };
  roles::PhoneRunner runner(radio, authenticator, *identity, po);

  InterruptWatcher watcher([&] { runner.cancel(); });

  if (a.listen) {
    auto st = runner.listen_for_linked_clients(
        a.max_transactions,
        [](const Result<roles::PhoneOutcome>& r) {
          if (r) std::cout << to_json_text(outcome_json(*r)) << std::endl;
          else std::cout << to_json_text(nlohmann::json{{"ok", false}, {"error", r.error().message}}) << std::endl;
        },
        [&] {  // printed once the push channel is open: linked clients can reach us now
          std::cout << nlohmann::json{{"ready", true}, {"contact_id_bytes", identity->contact_id().size()}}.dump()
                    << std::endl;
        });
    if (!st) return std::fprintf(stderr, "hybrid phone: %s\n", st.error().message.c_str()), kNetwork;
    return kOk;  // stopped by SIGINT/SIGTERM or after --max-transactions
  }

  std::string url = a.qr;
  if (url.empty()) {
    auto scanned = scan_png(a.qr_png);
    if (!scanned) return std::fprintf(stderr, "hybrid phone: %s\n", scanned.error().message.c_str()), kInvalidInput;
    url = *scanned;
  }
  auto qr = qr::parse_url(url);
  if (!qr) return std::fprintf(stderr, "hybrid phone: the QR code: %s\n", qr.error().message.c_str()), kInvalidInput;
  std::fprintf(stderr, "phone: scanned a QR code for %s\n",
               qr->request_type() == qr::RequestType::make_credential ? "creating a passkey" : "signing in");
  auto outcome = runner.serve_qr(*qr);
  if (!outcome) {
    std::cout << to_json_text(nlohmann::json{{"ok", false}, {"error", outcome.error().message}}) << std::endl;
    std::fprintf(stderr, "hybrid phone: %s\n", outcome.error().message.c_str());
    if (InterruptWatcher::interrupted()) return kCancelled;
    if (ble::radio_error_of(outcome.error())) return kBluetoothUnavailable;
    return kPhoneShutDown;
  }
  std::cout << to_json_text(outcome_json(*outcome)) << std::endl;
  return outcome->status == 0 ? kOk : kCtapError;
}

CommandRegistration reg("phone", 20, [](CLI::App& root) {
  auto a = std::make_shared<PhoneArgs>();
  auto* cmd = root.add_subcommand(
      "phone",
      "A software phone (authenticator): scan a QR code and serve one passkey request over hybrid,\n"
      "or (--listen) wait for linked clients. Passkeys live in --store; the result is one JSON line\n"
      "per transaction on stdout.");
  cmd->add_option("--qr", a->qr, "the QR code's text, FIDO:/…");
  cmd->add_option("--qr-png", a->qr_png, "read the QR code from a PNG file");
  cmd->add_flag("--listen", a->listen, "hold the push channel open and serve linked clients until stopped");
  cmd->add_option("--max-transactions", a->max_transactions, "with --listen: stop after this many (default: no limit)");
  cmd->add_option("--store", a->store, "passkey store file (default: " + default_store() + ")");
  cmd->add_option("--identity", a->identity, "the phone's identity file (default: <store>.identity.json)");
  cmd->add_option("--tunnel", a->tunnel, "tunnel server base URL: ws://127.0.0.1:PORT or wss://host")->required();
  add_ca_file_option(*cmd, a->ca_file);
  cmd->add_option("--domain-id", a->domain_id,
                  "tunnel-domain number put in the advert: 0/1 assigned names, >= 256 a hashed name (default 0)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--service-uuid", a->service_uuid,
                  "service-data UUID of the advert: fff9 (FIDO, default) or fde2 (Google's; Chromium accepts both)")
      ->check(CLI::IsMember({"fff9", "fde2"}));
  cmd->add_option("--kind", a->kind, "passkeys it creates: synced | device-bound")
      ->check(CLI::IsMember({"synced", "device-bound"}));
  cmd->add_option("--attestation", a->attestation, "none | packed-self | packed-x5c (default: by kind)");
  cmd->add_option("--approve", a->approve, "auto (say yes) | prompt (ask on the terminal)")
      ->check(CLI::IsMember({"auto", "prompt"}));
  cmd->add_option("--name", a->name, "the phone's name shown to linked clients")->check(utf8_text());
  cmd->add_flag("--offer-linking", a->offer_linking, "send linking data when the QR code allows it");
  cmd->add_option("--timeout", a->timeout_s, "seconds one transaction may take (default 120)");
  cmd->add_option("--think-time", a->think_time_ms,
                  "milliseconds to wait before answering each request, as a person confirming would (demos, tests)");
  cmd->add_option("--push-keepalive", a->keepalive_s,
                  "with --listen: seconds between keepalives (default: a third of the idle timeout the server "
                  "announces, or of 300 s)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--reconnect-max", a->reconnect_max_s,
                  "with --listen: longest wait between reconnection attempts, in seconds (default 30)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--push-renew", a->push_renew_s,
                  "with --listen: re-register on the push channel this often, in seconds (default 1800)")
      ->check(CLI::Range(1.0, 86400.0));
  add_bluetooth_options(*cmd, a->bluetooth);
  cmd->callback([a] { set_exit_code(run(*a)); });
});

}  // namespace
}  // namespace hybrid::app
