// The PC's commands: `hybrid sign-in` and `hybrid register` run one hybrid transaction
// with a phone (QR code, or a linked phone) and print the WebAuthn result as JSON;
// `hybrid phones` lists and forgets linked phones.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <stop_token>

#include "app/cli_text.h"
#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "app/interrupt_watcher.h"
#include "app/keylog.h"
#include "app/option_groups.h"
#include "ble/bluez_radio.h"
#include "crypto/primitives.h"
#include "ctap/commands.h"
#include "webauthn/webauthn_client.h"
#include "doctor/report.h"
#include "qr/render.h"
#include "roles/client_transaction.h"
#include "roles/link_store.h"
#include "roles/linked_then_qr.h"
#include "base/private_file.h"
#include "roles/data_dir.h"
#include "base/log.h"
#include "base/core_dumps.h"
#include "base/printable.h"
#include "base/json_text.h"

namespace hybrid::app {
namespace {

struct CommonArgs {
  TunnelChoiceOptions tunnel;
  int timeout_s = 120;
  int advert_timeout_s = 60;
  BluetoothOptions bluetooth;
  LinkingOptions linking;
  std::string qr_png;
  bool no_qr = false;
};

void add_common(CLI::App* cmd, CommonArgs& a) {
  add_tunnel_choice_options(*cmd, a.tunnel);
  cmd->add_option("--timeout", a.timeout_s, "give up after this many seconds in all (default 120)");
  add_advert_timeout_option(*cmd, a.advert_timeout_s);
  add_bluetooth_options(*cmd, a.bluetooth);
  add_linking_options(*cmd, a.linking);
  cmd->add_option("--qr-png", a.qr_png, "also write the QR code to this PNG file while it is shown (mode 0600, never through a symlink, removed when the transaction ends)");
  add_no_qr_flag(*cmd, a.no_qr);
}

// `hybrid doctor`'s fast Bluetooth checks, before any QR code is drawn: a code the person
// scans while this machine cannot hear the phone only wastes their time.
bool bluetooth_ready(const CommonArgs& a) {
  doctor::SystemOptions so;
  so.dbus_address = a.bluetooth.dbus_address;
  so.adapter = a.bluetooth.adapter;
  doctor::SystemEnvironment env(so);
  auto problem = doctor::bluetooth_preflight(env, a.bluetooth.power_on);
  if (!problem) return true;
  std::fprintf(stderr, "hybrid: Bluetooth is not ready, so no QR code is shown: %s\nhybrid: fix: %s\n",
               problem->detail.c_str(), problem->fix.c_str());
  return false;
}

struct Outcome {
  int exit = kOk;
  std::optional<roles::ClientTransactionResult> result;
};

// Runs one transaction (linked first when asked, then the QR code), with progress on
// stderr and Ctrl-C handling. Stores linking data that arrives.
Outcome run_transaction(const CommonArgs& a, qr::RequestType type, const Bytes& ctap_request) {
  if (auto hardened = keep_secrets_out_of_core_dumps(); !hardened) log::warn("app", "{}", hardened.error().message);
  std::string store_path = a.linking.link_store.empty() ? roles::LinkStore::default_path() : a.linking.link_store;
  roles::LinkStore links(store_path);
  std::optional<roles::LinkRecord> linked;
  if (!a.linking.phone.empty()) {
    auto found = links.find(a.linking.phone);
    if (!found) {
      std::fprintf(stderr, "hybrid: %s\n", found.error().message.c_str());
      return {kInvalidInput, {}};
    }
    if (!found->has_value()) {
      std::fprintf(stderr, "hybrid: no linked phone is called \"%s\" (see `hybrid phones list`)\n", printable(a.linking.phone).c_str());
      return {kInvalidInput, {}};
    }
    linked = **found;
  }

  if (!bluetooth_ready(a)) return {kBluetoothUnavailable, {}};
  ble::BluezRadio radio(a.bluetooth.radio_options());

  if (a.linking.link_store.empty()) {  // a fresh account has no data directory yet
    if (auto made = make_private_dirs(roles::data_dir()); !made) log::warn("app", "{}", made.error().message);
  }
  PrivateFile qr_png;  // holds the QR secret: removed when this transaction ends
  std::stop_source stop;  // Ctrl-C, for whichever attempt runs
  roles::LinkedThenQr plan;
  plan.linked_phone = linked;
  plan.links = &links;
  plan.attempt = [&](const std::optional<roles::LinkRecord>& phone) -> Result<roles::ClientTransactionResult> {
    roles::ClientTransactionOptions o;
    o.tunnel_override = a.tunnel.tunnel_override;
    o.ca_file = a.tunnel.ca_file;
    o.timeout = std::chrono::seconds(a.timeout_s);
    o.advert_timeout = std::chrono::seconds(a.advert_timeout_s);
    o.request_type = type;
    o.offer_linking = !a.linking.no_linking;
    o.linked_phone = phone;
    o.on_keylog = [](const std::string& line) { append_keylog(line); };
    o.on_progress = [&](const roles::ClientProgress& p) {
      std::fprintf(stderr, "[%6.1fs] %s%s%s\n", p.elapsed.count() / 1000.0, std::string(roles::stage_name(p.stage)).c_str(),
                   p.detail.empty() ? "" : ": ", p.detail.c_str());
      if (p.stage == roles::Stage::qr_shown) {
        if (!a.no_qr) {
          auto art = qr::render_terminal(p.qr_url);
          if (art) std::fprintf(stderr, "%s\n", art->c_str());
        }
        std::fprintf(stderr, "QR code text: %s\n", p.qr_url.c_str());
        if (!a.qr_png.empty()) {
          auto png = qr::render_png(p.qr_url);
          Status written = png ? qr_png.write(a.qr_png, *png) : Status(png.error());
          if (!written) std::fprintf(stderr, "hybrid: could not write the QR code: %s\n", written.error().message.c_str());
        }
      }
    };
    auto r = roles::ClientTransaction(radio, o).run(ctap_request[0], ByteView(ctap_request).subspan(1), stop.get_token());
    if (!r) std::fprintf(stderr, "hybrid: %s\n", r.error().message.c_str());
    return r;
  };
  plan.on_linked_failure = [](const roles::LinkedAttemptFailure& f) {
    if (f.forgotten) std::fprintf(stderr, "hybrid: forgot the linked phone \"%s\"\n", printable(f.phone.name).c_str());
    if (f.falls_back) std::fprintf(stderr, "hybrid: falling back to a QR code\n");
  };
  Result<roles::ClientTransactionResult> r = make_error("not run");
  {
    InterruptWatcher watcher([&] { stop.request_stop(); });
    r = roles::run_linked_then_qr(plan, stop.get_token());
  }
  if (!r) return {roles::exit_code_for(roles::failure_or_internal(r.error())), {}};
  if (r->linking) {
    auto name = links.add(*r->linking, r->domain_id, a.tunnel.tunnel_override);
    if (name) {
      const std::string shown = printable(*name);
      std::fprintf(stderr, "Linked this phone as \"%s\": next time use --phone \"%s\"\n", shown.c_str(), shown.c_str());
    }
    else std::fprintf(stderr, "hybrid: could not store the linked phone: %s\n", name.error().message.c_str());
  }
  return {kOk, std::move(r).value()};
}

int report_ctap_result(const Result<nlohmann::json>& json, uint8_t status) {
  if (!json) {
    std::fprintf(stderr, "hybrid: %s\n", json.error().message.c_str());
    return status != 0 ? kCtapError : kInvalidInput;
  }
  std::cout << json->dump(2) << std::endl;
  return kOk;
}

Result<Bytes> b64url_or_random(const std::string& text, size_t random_size, const char* what) {
  if (text.empty()) return crypto::random_bytes(random_size);
  auto b = base64url_decode(text);
  if (!b) return b.error().with_context(what);
  return b;
}

struct SignInArgs {
  CommonArgs common;
  std::string rp_id, origin, challenge, user_verification = "preferred";
  std::vector<std::string> allow;
  std::vector<std::string> prf_salts;
};

int run_sign_in(const SignInArgs& a) {
  webauthn::AuthenticationOptions o;
  o.rp_id = a.rp_id;
  o.origin = a.origin.empty() ? "https://" + a.rp_id : a.origin;
  auto challenge = b64url_or_random(a.challenge, 32, "--challenge");
  if (!challenge) return std::fprintf(stderr, "hybrid: %s\n", challenge.error().message.c_str()), kUsage;
  o.challenge = *challenge;
  o.user_verification = a.user_verification;
  for (const auto& c : a.allow) {
    auto id = base64url_decode(c);
    if (!id) return std::fprintf(stderr, "hybrid: --allow-credential: %s\n", id.error().message.c_str()), kUsage;
    o.allow_credentials.push_back(*id);
  }
  if (!a.prf_salts.empty()) {
    webauthn::PrfInputs in;
    auto first = base64url_decode(a.prf_salts[0]);
    if (!first) return std::fprintf(stderr, "hybrid: --prf-salt: %s\n", first.error().message.c_str()), kUsage;
    in.first = *first;
    if (a.prf_salts.size() > 1) {
      auto second = base64url_decode(a.prf_salts[1]);
      if (!second) return std::fprintf(stderr, "hybrid: --prf-salt: %s\n", second.error().message.c_str()), kUsage;
      in.second = *second;
    }
    o.prf_eval = in;
  }
  auto prepared = webauthn::prepare_authentication(o);
  if (!prepared) return std::fprintf(stderr, "hybrid: %s\n", prepared.error().message.c_str()), kInvalidInput;
  auto outcome = run_transaction(a.common, qr::RequestType::get_assertion, prepared->ctap_request());
  if (outcome.exit != kOk) return outcome.exit;
  Bytes response = concat(Bytes{outcome.result->ctap_status}, outcome.result->ctap_body);
  return report_ctap_result(webauthn::finish_authentication(*prepared, response), outcome.result->ctap_status);
}

struct RegisterArgs {
  CommonArgs common;
  std::string rp_id, rp_name, origin, challenge, user_name, display_name, user_id;
  std::string attestation = "none", resident_key = "required", user_verification = "preferred";
  std::vector<std::string> exclude;
  bool prf = false;
  bool cred_props = true;
};

int run_register(const RegisterArgs& a) {
  webauthn::RegistrationOptions o;
  o.rp_id = a.rp_id;
  if (!a.rp_name.empty()) o.rp_name = a.rp_name;
  o.origin = a.origin.empty() ? "https://" + a.rp_id : a.origin;
  auto challenge = b64url_or_random(a.challenge, 32, "--challenge");
  auto uid = b64url_or_random(a.user_id, 16, "--user-id");
  if (!challenge || !uid) return std::fprintf(stderr, "hybrid: bad --challenge or --user-id (base64url)\n"), kUsage;
  o.challenge = *challenge;
  o.user.id = *uid;
  o.user.name = a.user_name;
  o.user.display_name = a.display_name.empty() ? a.user_name : a.display_name;
  o.attestation = a.attestation;
  o.resident_key = a.resident_key;
  o.user_verification = a.user_verification;
  o.prf = a.prf;
  o.cred_props = a.cred_props;
  for (const auto& c : a.exclude) {
    auto id = base64url_decode(c);
    if (!id) return std::fprintf(stderr, "hybrid: --exclude-credential: %s\n", id.error().message.c_str()), kUsage;
    o.exclude_credentials.push_back(*id);
  }
  auto prepared = webauthn::prepare_registration(o);
  if (!prepared) return std::fprintf(stderr, "hybrid: %s\n", prepared.error().message.c_str()), kInvalidInput;
  auto outcome = run_transaction(a.common, qr::RequestType::make_credential, prepared->ctap_request());
  if (outcome.exit != kOk) return outcome.exit;
  Bytes response = concat(Bytes{outcome.result->ctap_status}, outcome.result->ctap_body);
  return report_ctap_result(webauthn::finish_registration(*prepared, response), outcome.result->ctap_status);
}

const char* kProgressHelp =
    "\nProgress goes to stderr, one line per stage (QR shown, advert seen, tunnel connected,\n"
    "handshake done, waiting for the user, done); the result (WebAuthn PublicKeyCredential JSON)\n"
    "goes to stdout. Ctrl-C cancels: discovery stops and the tunnel closes.\n";

CommandRegistration reg_client("client", 10, [](CLI::App& root) {
  auto si = std::make_shared<SignInArgs>();
  auto* sign_in = root.add_subcommand(
      "sign-in", std::string("Sign in with a passkey on your phone (WebAuthn get over hybrid).") + kProgressHelp);
  sign_in->add_option("--rp-id", si->rp_id, "relying party ID, e.g. example.com")->required()->check(utf8_text());
  sign_in->add_option("--origin", si->origin, "origin for clientDataJSON (default https://<rp-id>)")->check(utf8_text());
  sign_in->add_option("--challenge", si->challenge, "challenge, base64url (default: 32 random bytes)");
  sign_in->add_option("--user-verification", si->user_verification, "required | preferred | discouraged")
      ->check(CLI::IsMember({"required", "preferred", "discouraged"}));
  sign_in->add_option("--allow-credential", si->allow, "credential ID (base64url) the RP accepts; repeatable");
  sign_in->add_option("--prf-salt", si->prf_salts, "PRF salt (base64url); give twice for two salts")->expected(1, 2);
  add_common(sign_in, si->common);
  sign_in->callback([si] { set_exit_code(run_sign_in(*si)); });

  auto rg = std::make_shared<RegisterArgs>();
  auto* reg = root.add_subcommand(
      "register", std::string("Create a passkey on your phone (WebAuthn create over hybrid).") + kProgressHelp);
  reg->add_option("--rp-id", rg->rp_id, "relying party ID, e.g. example.com")->required()->check(utf8_text());
  reg->add_option("--rp-name", rg->rp_name, "relying party display name")->check(utf8_text());
  reg->add_option("--origin", rg->origin, "origin for clientDataJSON (default https://<rp-id>)")->check(utf8_text());
  reg->add_option("--user-name", rg->user_name, "account name, e.g. alice@example.com")->required()->check(utf8_text());
  reg->add_option("--user-display-name", rg->display_name, "display name (default: the user name)")->check(utf8_text());
  reg->add_option("--user-id", rg->user_id, "user handle, base64url (default: 16 random bytes)");
  reg->add_option("--challenge", rg->challenge, "challenge, base64url (default: 32 random bytes)");
  reg->add_option("--attestation", rg->attestation, "none | direct | indirect | enterprise")
      ->check(CLI::IsMember({"none", "direct", "indirect", "enterprise"}));
  reg->add_option("--resident-key", rg->resident_key, "required | preferred | discouraged")
      ->check(CLI::IsMember({"required", "preferred", "discouraged"}));
  reg->add_option("--user-verification", rg->user_verification, "required | preferred | discouraged")
      ->check(CLI::IsMember({"required", "preferred", "discouraged"}));
  reg->add_option("--exclude-credential", rg->exclude, "credential ID (base64url) already registered; repeatable");
  reg->add_flag("--prf", rg->prf, "ask for the PRF extension");
  add_common(reg, rg->common);
  reg->callback([rg] { set_exit_code(run_register(*rg)); });

  auto phones = root.add_subcommand("phones", "List or forget linked phones (remembered for sign-in without a QR code).");
  phones->require_subcommand(1);
  auto store = std::make_shared<std::string>();
  phones->add_option("--link-store", *store, "linked phones file (default: " + roles::LinkStore::default_path() + ")");
  auto* list = phones->add_subcommand("list", "Print the linked phones as JSON (no secrets).");
  list->callback([store] {
    roles::LinkStore links(store->empty() ? roles::LinkStore::default_path() : *store);
    auto all = links.list();
    if (!all) {
      std::fprintf(stderr, "hybrid: %s\n", all.error().message.c_str());
      set_exit_code(kInvalidInput);
      return;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& l : *all) {
      out.push_back({{"name", printable(l.name)},
                     {"tunnel_domain", l.tunnel_override.empty() ? tunnel_domain(l.domain_id).value_or("?") : l.tunnel_override},
                     {"public_key", hex_encode(l.phone_public_key)},
                     {"linked_at", l.linked_at}});
    }
    std::cout << to_json_text(out, 2) << std::endl;
  });
  auto name = std::make_shared<std::string>();
  auto* forget = phones->add_subcommand("forget", "Forget a linked phone.");
  forget->add_option("NAME", *name, "the phone's name, as `hybrid phones list` shows it")->required();
  forget->callback([store, name] {
    roles::LinkStore links(store->empty() ? roles::LinkStore::default_path() : *store);
    auto r = links.forget(*name);
    if (!r) {
      std::fprintf(stderr, "hybrid: %s\n", r.error().message.c_str());
      set_exit_code(kInvalidInput);
    } else if (!*r) {
      std::fprintf(stderr, "hybrid: no linked phone is called \"%s\"\n", printable(*name).c_str());
      set_exit_code(kInvalidInput);
    } else {
      std::fprintf(stderr, "forgot \"%s\"\n", printable(*name).c_str());
    }
  });
});

}  // namespace
}  // namespace hybrid::app
