// `hybrid ctap …`: look inside CTAP2 messages, check passkey policy files, and export the
// software phone's attestation root (what a relying party must trust to admit its
// device-bound passkeys under an attestation-enforcing profile).
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "cbor/codec.h"
#include "webauthn/aaguid_table.h"
#include "ctap/auth_data.h"
#include "ctap/authenticator.h"
#include "ctap/commands.h"
#include "ctap/get_assertion.h"
#include "ctap/get_info.h"
#include "ctap/make_credential.h"
#include "webauthn/passkey_policy.h"

namespace hybrid::app {
namespace {

using nlohmann::json;

struct DecodeArgs {
  std::string hex;
  std::string response;  // empty: a request; else make-credential | get-assertion | get-info
};

json auth_data_json(ByteView raw) {
  auto ad = ctap::AuthenticatorData::parse(raw);
  if (!ad.ok()) return json{{"error", ad.error().message}};
  json j = {{"rp_id_hash", hex_encode(ad->rp_id_hash)},
            {"flags", {{"up", ad->user_present()}, {"uv", ad->user_verified()}, {"be", ad->backup_eligible()},
                       {"bs", ad->backed_up()}}},
            {"sign_count", ad->sign_count}};
  if (ad->attested) {
    j["aaguid"] = ctap::aaguid_to_string(ad->attested->aaguid);
    j["provider"] = webauthn::AaguidTable::builtin().describe(ad->attested->aaguid);
    j["credential_id_length"] = ad->attested->credential_id.size();
  }
  if (ad->extensions) j["extensions"] = cbor::to_diagnostic(cbor::Value(*ad->extensions));
  return j;
}

json optional_json(const std::optional<bool>& v) { return v ? json(*v) : json(nullptr); }

// Decodes `body` with Message's strict decoder and lets `show` describe it; false (and
// `error` set) when the decoder refuses it.
template <class Message, class Show>
bool decode_and_show(ByteView body, Error& error, Show show) {
  auto m = Message::decode(body);
  if (!m.ok()) {
    error = m.error();
    return false;
  }
  show(*m);
  return true;
}

// Decodes with the strict decoder of the message type and shows what it holds.
int run_decode(const DecodeArgs& a) {
  auto bytes = hex_decode(a.hex);
  if (!bytes.ok() || bytes->empty()) {
    std::fprintf(stderr, "hybrid ctap decode: give the message as hex (command or status byte first)\n");
    return kUsage;
  }
  const uint8_t first = (*bytes)[0];
  const ByteView body = ByteView(*bytes).subspan(1);
  json out;
  Error error;
  bool ok = true;
  if (a.response.empty()) {
    out["command"] = std::string(ctap::command_name(first));
    switch (static_cast<ctap::Command>(first)) {
      case ctap::Command::make_credential:
        ok = decode_and_show<ctap::MakeCredentialRequest>(body, error, [&](const auto& r) {
          out["rp_id"] = r.rp.id;
          out["user_id_length"] = r.user.id.size();
          json algs = json::array();
          for (const auto& p : r.pub_key_cred_params) algs.push_back(p.alg);
          out["algorithms"] = algs;
          out["exclude_list_length"] = r.exclude_list.size();
          out["options"] = {{"rk", optional_json(r.rk)}, {"uv", optional_json(r.uv)}};
          out["prf"] = r.prf.has_value();
        });
        break;
      case ctap::Command::get_assertion:
        ok = decode_and_show<ctap::GetAssertionRequest>(body, error, [&](const auto& r) {
          out["rp_id"] = r.rp_id;
          out["allow_list_length"] = r.allow_list.size();
          out["options"] = {{"up", optional_json(r.up)}, {"uv", optional_json(r.uv)}};
          out["prf"] = r.prf.has_value();
        });
        break;
      default:
        if (!body.empty()) {
          auto v = cbor::decode(body);
          ok = v.ok();
          if (ok) out["parameters"] = cbor::to_diagnostic(*v);
          else error = v.error();
        }
        break;
    }
  } else {
    out["status"] = ctap::status_description(first);
    if (first != 0) {
      // An error status carries no body.
    } else if (a.response == "get-info") {
      ok = decode_and_show<ctap::GetInfoResponse>(body, error, [&](const auto& r) {
        out["versions"] = r.versions;
        out["extensions"] = r.extensions;
        out["aaguid"] = ctap::aaguid_to_string(r.aaguid);
        out["options"] = r.options;
        out["transports"] = r.transports;
        out["pin_uv_auth_protocols"] = r.pin_uv_auth_protocols;
      });
    } else if (a.response == "make-credential") {
      ok = decode_and_show<ctap::MakeCredentialResponse>(body, error, [&](const auto& r) {
        out["fmt"] = r.fmt;
        out["auth_data"] = auth_data_json(r.auth_data);
        out["att_stmt_members"] = json::array();
        for (const auto& [k, v] : r.att_stmt) {
          (void)v;
          if (k.is_text()) out["att_stmt_members"].push_back(k.as_text());
        }
      });
    } else {
      ok = decode_and_show<ctap::GetAssertionResponse>(body, error, [&](const auto& r) {
        out["auth_data"] = auth_data_json(r.auth_data);
        out["signature_length"] = r.signature.size();
        if (r.number_of_credentials) out["number_of_credentials"] = *r.number_of_credentials;
        out["user_handle_present"] = r.user.has_value();
      });
    }
  }
  out["valid"] = ok;
  if (!ok) {
    out["error"] = error.message;
    out["error_status"] = ctap::status_description(ctap::status_of(error));
  }
  std::cout << out.dump(2) << std::endl;
  return ok ? kOk : kInvalidInput;
}

struct PolicyArgs {
  std::string file;
  std::string user;
  std::vector<std::string> groups;
};

int run_policy_check(const PolicyArgs& a) {
  auto policy = webauthn::PasskeyPolicy::load(a.file);
  if (!policy.ok()) {
    std::cout << json{{"valid", false}, {"error", policy.error().message}}.dump() << std::endl;
    std::fprintf(stderr, "hybrid ctap policy-check: %s\n", policy.error().message.c_str());
    return kInvalidInput;
  }
  json out = {{"valid", true}, {"policy", policy->to_json()}};
  out["policy"].erase("attestation_roots");
  out["attestation_roots"] = policy->attestation_roots.size();
  if (!a.user.empty()) out["profile_for_user"] = policy->profile_for(a.user, a.groups).name;
  std::cout << out.dump(2) << std::endl;
  return kOk;
}

struct RootArgs {
  std::string store;
  std::string provider = "Hybrid Software Phone";
};

int run_attestation_root(const RootArgs& a) {
  auto store = ctap::CredentialStore::open(a.store);
  if (!store.ok()) {
    std::fprintf(stderr, "hybrid ctap attestation-root: %s\n", store.error().message.c_str());
    return kInvalidInput;
  }
  auto config = ctap::AuthenticatorConfig::for_kind(ctap::PasskeyKind::device_bound);
  config.provider_name = a.provider;
  ctap::AutoApprover never(false, false);
  ctap::SoftwareAuthenticator phone(*store, config, never);
  auto identity = phone.attestation_identity();
  if (!identity.ok()) {
    std::fprintf(stderr, "hybrid ctap attestation-root: %s\n", identity.error().message.c_str());
    return kInternalError;
  }
  std::fprintf(stderr, "hybrid ctap attestation-root: root of %s (trust it in the policy's attestation_roots)\n",
               identity->root.subject().c_str());
  std::cout << identity->root.pem();
  return kOk;
}

void install(CLI::App& root) {
  auto* ctap = root.add_subcommand("ctap", "Look inside CTAP2 messages, check passkey policy files and export the\n"
                                           "software phone's attestation root.");
  ctap->require_subcommand(1);

  auto decode_args = std::make_shared<DecodeArgs>();
  auto* decode = ctap->add_subcommand(
      "decode", "Decode a CTAP2 request (command byte ‖ CBOR) or, with --response, a response (status\n"
                "byte ‖ CBOR) with the strict decoders the phone and client use. Prints JSON; exit 3 if\n"
                "the message is malformed (the error names the CTAP status a phone would answer).");
  decode->add_option("hex", decode_args->hex, "the message in hex")->required();
  decode->add_option("--response", decode_args->response, "decode as the response to this command")
      ->check(CLI::IsMember({"make-credential", "get-assertion", "get-info"}));
  decode->callback([decode_args] { set_exit_code(run_decode(*decode_args)); });

  auto policy_args = std::make_shared<PolicyArgs>();
  auto* policy = ctap->add_subcommand(
      "policy-check", "Validate a passkey policy file (schema in docs/ctap.md) and print it normalised;\n"
                      "with --user, also the profile that governs that user. Exit 3 if invalid.");
  policy->add_option("file", policy_args->file, "the policy JSON file")->required();
  policy->add_option("--user", policy_args->user, "a user name to resolve to a profile");
  policy->add_option("--group", policy_args->groups, "a group the user belongs to (repeatable)");
  policy->callback([policy_args] { set_exit_code(run_policy_check(*policy_args)); });

  auto root_args = std::make_shared<RootArgs>();
  auto* att = ctap->add_subcommand(
      "attestation-root", "Print (PEM, on stdout) the per-install attestation root of the software phone whose\n"
                          "credential store is --store, creating it on first use. A relying party that enforces\n"
                          "attestation lists it in its policy's attestation_roots.");
  att->add_option("--store", root_args->store, "the phone's credential store file")->required();
  att->add_option("--provider", root_args->provider, "vendor name in new certificates")
      ->default_val("Hybrid Software Phone");
  att->callback([root_args] { set_exit_code(run_attestation_root(*root_args)); });
}

const CommandRegistration kRegistration("ctap", 70, install);

}  // namespace
}  // namespace hybrid::app
