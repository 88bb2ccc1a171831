// A line-oriented driver of the ctap layer for the python3-fido2 interop test: one JSON
// request per line on stdin, one JSON answer per line on stdout.
//   {"op":"new","kind":"synced|device-bound","attestation":"none|packed-self|packed-x5c"}
//   {"op":"ctap","hex":"<command ‖ CBOR>"}            → {"hex":"<status ‖ CBOR>"}
//   {"op":"attestation_root"}                          → {"pem":"…"}
//   {"op":"client_register","options":{…},"origin":…} → {"ctap_request":hex,"credential":{…}}
//   {"op":"client_authenticate","options":{…},"origin":…}
//   {"op":"rp_begin_register","user":"alice"}          → options JSON
//   {"op":"rp_finish_register","user":"alice","credential":{…}} → {"ok":…,"rule"?,"error"?}
//   {"op":"rp_begin_auth","user":"alice"|null}         → options JSON
//   {"op":"rp_finish_auth","credential":{…}}
// The relying party is example.com with origin https://example.com and the allow-all
// policy (UV preferred), so that python-made credentials are judged on WebAuthn rules.
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/primitives.h"
#include "ctap/authenticator.h"
#include "webauthn/verifier.h"
#include "webauthn/webauthn_client.h"
#include "tests/support/json_line_driver.h"

using namespace hybrid;
using namespace hybrid::ctap;
using namespace hybrid::webauthn;
using nlohmann::json;

namespace {

struct Session {
  CredentialStore store = CredentialStore::in_memory();
  AutoApprover approver;
  std::unique_ptr<SoftwareAuthenticator> authenticator;
  RelyingParty rp{RelyingPartyConfig{"example.com", "Example", {"https://example.com"}, {}, 60000, 1000, {}, {}},
                  PasskeyPolicy::allow_all()};
  std::map<std::string, UserAccount> users;
  std::map<Bytes, std::pair<RegisteredCredential, UserAccount>> registered;

  UserAccount& user(const std::string& name) {
    auto it = users.find(name);
    if (it == users.end()) {
      it = users.emplace(name, UserAccount{name, name, crypto::random_bytes(16), {}}).first;
    }
    return it->second;
  }
};

json refusal(const Error& e) {
  auto rule = rule_of(e);
  return json{{"ok", false}, {"rule", rule ? std::string(rule_name(*rule)) : "unknown"}, {"code", rule ? static_cast<int>(*rule) : 0}, {"error", e.message}};
}

json handle(Session& s, const json& req) {
  const std::string op = req.at("op").get<std::string>();
  if (op == "new") {
    auto kind = passkey_kind_from_name(req.value("kind", std::string("synced")));
    if (!kind.ok()) return refusal(kind.error());
    auto config = AuthenticatorConfig::for_kind(*kind);
    if (req.contains("attestation")) {
      auto mode = attestation_mode_from_name(req["attestation"].get<std::string>());
      if (!mode.ok()) return refusal(mode.error());
      config.attestation = *mode;
    }
    s.authenticator.reset();
    s.store = CredentialStore::in_memory();
    s.authenticator = std::make_unique<SoftwareAuthenticator>(s.store, config, s.approver);
    return json{{"ok", true}};
  }
  if (!s.authenticator && (op == "ctap" || op == "attestation_root" || op.rfind("client_", 0) == 0)) {
    return json{{"ok", false}, {"error", "no authenticator: send {\"op\":\"new\"} first"}};
  }
  if (op == "ctap") {
    auto bytes = hex_decode(req.at("hex").get<std::string>());
    if (!bytes.ok()) return refusal(bytes.error());
    return json{{"hex", hex_encode(s.authenticator->process(*bytes))}};
  }
  if (op == "attestation_root") {
    auto id = s.authenticator->attestation_identity();
    if (!id.ok()) return refusal(id.error());
    return json{{"pem", id->root.pem()}};
  }
  if (op == "client_register") {
    auto opts = RegistrationOptions::from_json(req.at("options"), req.at("origin").get<std::string>());
    if (!opts.ok()) return refusal(opts.error());
    auto info = s.authenticator->get_info();
    auto prepared = prepare_registration(*opts, &info);
    if (!prepared.ok()) return refusal(prepared.error());
    Bytes request = prepared->ctap_request();
    auto cred = finish_registration(*prepared, s.authenticator->process(request));
    if (!cred.ok()) return refusal(cred.error());
    return json{{"ok", true}, {"ctap_request", hex_encode(request)}, {"credential", *cred}};
  }
  if (op == "client_authenticate") {
    auto opts = AuthenticationOptions::from_json(req.at("options"), req.at("origin").get<std::string>());
    if (!opts.ok()) return refusal(opts.error());
    auto info = s.authenticator->get_info();
    auto prepared = prepare_authentication(*opts, &info);
    if (!prepared.ok()) return refusal(prepared.error());
    Bytes request = prepared->ctap_request();
    auto cred = finish_authentication(*prepared, s.authenticator->process(request));
    if (!cred.ok()) return refusal(cred.error());
    return json{{"ok", true}, {"ctap_request", hex_encode(request)}, {"credential", *cred}};
  }
  if (op == "rp_begin_register") {
    return s.rp.begin_registration(s.user(req.at("user").get<std::string>()));
  }
  if (op == "rp_finish_register") {
    const UserAccount& user = s.user(req.at("user").get<std::string>());
    auto reg = s.rp.finish_registration(req.at("credential"), user, [&](ByteView id) {
      return s.registered.count(Bytes(id.begin(), id.end())) > 0;
    });
    if (!reg.ok()) return refusal(reg.error());
    s.registered[reg->id] = {*reg, user};
    return json{{"ok", true}, {"credential", reg->to_json()}};
  }
  if (op == "rp_begin_auth") {
    if (!req.contains("user") || req["user"].is_null()) return s.rp.begin_authentication(std::nullopt);
    const UserAccount& user = s.user(req["user"].get<std::string>());
    std::vector<RegisteredCredential> creds;
    for (const auto& [id, entry] : s.registered)
      if (entry.second.name == user.name) creds.push_back(entry.first);
    return s.rp.begin_authentication(user, creds);
  }
  if (op == "rp_finish_auth") {
    auto out = s.rp.finish_authentication(req.at("credential"), [&](ByteView id) {
      auto it = s.registered.find(Bytes(id.begin(), id.end()));
      return it == s.registered.end() ? std::nullopt
                                      : std::optional<std::pair<RegisteredCredential, UserAccount>>(it->second);
    });
    if (!out.ok()) return refusal(out.error());
    s.registered[out->credential.id].first = out->credential;
    return json{{"ok", true}, {"user", out->user.name}, {"sign_count", out->credential.sign_count}};
  }
  return json{{"ok", false}, {"error", "unknown op " + op}};
}

}  // namespace

int main() {
  Session session;
  return test::run_json_line_driver([&](const json& request) { return handle(session, request); });
}
