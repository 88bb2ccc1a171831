#include "webauthn/webauthn_client.h"

#include <fmt/format.h>

#include "base/json_number.h"
#include "crypto/primitives.h"
#include "ctap/attestation.h"
#include "ctap/auth_data.h"
#include "ctap/commands.h"
#include "ctap/cose_key.h"
#include "webauthn/client_data.h"

namespace hybrid::webauthn {
namespace {

using json = nlohmann::json;

const json& unwrap(const json& options) {
  if (options.is_object() && options.contains("publicKey") && options["publicKey"].is_object()) {
    return options["publicKey"];
  }
  return options;
}

Result<Bytes> b64_member(const json& j, const char* name, std::string_view where) {
  if (!j.contains(name) || !j[name].is_string()) {
    return make_error(fmt::format("{} needs \"{}\" as a base64url string", where, name));
  }
  auto b = base64url_decode(j[name].get<std::string>());
  if (!b.ok()) return make_error(fmt::format("{} \"{}\": {}", where, name, b.error().message));
  return std::move(b).value();
}

Result<std::optional<std::string>> string_member(const json& j, const char* name, std::string_view where) {
  if (!j.contains(name) || j[name].is_null()) return std::optional<std::string>{};
  if (!j[name].is_string()) return make_error(fmt::format("{} \"{}\" must be a string", where, name));
  return std::optional<std::string>{j[name].get<std::string>()};
}

Status check_requirement(const std::string& value, std::string_view what) {
  if (value == "required" || value == "preferred" || value == "discouraged") return {};
  return make_error(fmt::format("{} must be required, preferred or discouraged, got '{}'", what, value));
}

Result<PrfInputs> prf_inputs_from_json(const json& j, std::string_view where) {
  if (!j.is_object()) return make_error(fmt::format("{} must be an object", where));
  PrfInputs in;
  HYBRID_TRY(in.first, b64_member(j, "first", where));
  if (j.contains("second")) {
    HYBRID_TRY(Bytes second, b64_member(j, "second", where));
    in.second = std::move(second);
  }
  return in;
}

Result<std::vector<Bytes>> descriptor_ids(const json& j, const char* name) {
  std::vector<Bytes> out;
  if (!j.contains(name)) return out;
  if (!j[name].is_array()) return make_error(fmt::format("\"{}\" must be an array", name));
  for (const auto& d : j[name]) {
    if (!d.is_object()) return make_error(fmt::format("\"{}\" entries must be objects", name));
    if (d.contains("type") && d["type"] != "public-key") continue;
    HYBRID_TRY(Bytes id, b64_member(d, "id", name));
    out.push_back(std::move(id));
  }
  return out;
}

ctap::PrfSalts salts_of(const PrfInputs& in) {
  ctap::PrfSalts s;
  s.first = ctap::webauthn_prf_salt(in.first);
  if (in.second) s.second = ctap::webauthn_prf_salt(*in.second);
  return s;
}

Result<ByteView> ok_payload(ByteView ctap_response) {
  if (ctap_response.empty()) return make_error("the phone sent an empty CTAP response");
  if (ctap_response[0] != 0x00) {
    return Error{static_cast<ctap::StatusCode>(ctap_response[0]), explain_ctap_status(ctap_response[0])};
  }
  return ctap_response.subspan(1);
}

json prf_results_json(const ctap::PrfResults& r) {
  json out = {{"first", base64url_encode(r.first)}};
  if (r.second) out["second"] = base64url_encode(*r.second);
  return out;
}

std::optional<ctap::PrfOutput> prf_output(const std::optional<cbor::Map>& unsigned_outputs) {
  if (!unsigned_outputs) return std::nullopt;
  const cbor::Value* v = unsigned_outputs->find(std::string_view(ctap::kExtPrf));
  if (!v) return std::nullopt;
  auto out = ctap::PrfOutput::from_cbor(*v);
  if (!out.ok()) return std::nullopt;
  return std::move(out).value();
}

}  // namespace

std::string explain_ctap_status(uint8_t status) {
  std::string what;
  switch (static_cast<ctap::StatusCode>(status)) {
    case ctap::StatusCode::no_credentials: what = "the phone has no passkey for this site"; break;
    case ctap::StatusCode::credential_excluded: what = "the phone already holds a passkey for this account"; break;
    case ctap::StatusCode::operation_denied: what = "the request was declined on the phone"; break;
    case ctap::StatusCode::user_action_timeout:
    case ctap::StatusCode::action_timeout: what = "nobody answered on the phone in time"; break;
    case ctap::StatusCode::unsupported_algorithm: what = "the phone supports none of the site's key algorithms"; break;
    case ctap::StatusCode::keepalive_cancel: what = "the request was cancelled"; break;
    case ctap::StatusCode::key_store_full: what = "the phone could not store the passkey"; break;
    default: what = "the phone refused the request"; break;
  }
  return fmt::format("{} ({})", what, ctap::status_description(status));
}

Result<RegistrationOptions> RegistrationOptions::from_json(const nlohmann::json& options, std::string origin) {
  const json& o = unwrap(options);
  if (!o.is_object()) return make_error("registration options must be a JSON object");
  RegistrationOptions r;
  r.origin = std::move(origin);
  if (!o.contains("rp") || !o["rp"].is_object()) return make_error("registration options need \"rp\"");
  HYBRID_TRY(auto rp_id, string_member(o["rp"], "id", "rp"));
  if (rp_id) {
    r.rp_id = *rp_id;
  } else {
    HYBRID_TRY(r.rp_id, origin_host(r.origin));  // WebAuthn: defaults to the origin's host
  }
  HYBRID_TRY(r.rp_name, string_member(o["rp"], "name", "rp"));
  if (!o.contains("user") || !o["user"].is_object()) return make_error("registration options need \"user\"");
  HYBRID_TRY(r.user.id, b64_member(o["user"], "id", "user"));
  HYBRID_TRY(r.user.name, string_member(o["user"], "name", "user"));
  HYBRID_TRY(r.user.display_name, string_member(o["user"], "displayName", "user"));
  HYBRID_TRY(r.challenge, b64_member(o, "challenge", "registration options"));
  if (o.contains("pubKeyCredParams")) {
    if (!o["pubKeyCredParams"].is_array()) return make_error("\"pubKeyCredParams\" must be an array");
    r.algorithms.clear();
    for (const auto& p : o["pubKeyCredParams"]) {
      // (A whole number an int64_t holds: 2^64 - 7 must not wrap around to ES256's -7.)
      std::optional<int64_t> alg = p.is_object() && p.contains("alg") ? json_whole_number<int64_t>(p["alg"]) : std::nullopt;
      if (!alg) return make_error("\"pubKeyCredParams\" entries need an integer \"alg\"");
      if (p.contains("type") && p["type"] != "public-key") continue;
      r.algorithms.push_back(*alg);
    }
  }
  HYBRID_TRY(r.exclude_credentials, descriptor_ids(o, "excludeCredentials"));
  if (o.contains("authenticatorSelection") && o["authenticatorSelection"].is_object()) {
    const json& s = o["authenticatorSelection"];
    HYBRID_TRY(auto uv, string_member(s, "userVerification", "authenticatorSelection"));
    if (uv) r.user_verification = *uv;
    HYBRID_TRY(auto rk, string_member(s, "residentKey", "authenticatorSelection"));
    if (rk) {
      r.resident_key = *rk;
    } else if (s.contains("requireResidentKey") && s["requireResidentKey"].is_boolean()) {
      r.resident_key = s["requireResidentKey"].get<bool>() ? "required" : "discouraged";
    } else {
      r.resident_key = "discouraged";  // WebAuthn's default
    }
  }
  HYBRID_TRY(auto att, string_member(o, "attestation", "registration options"));
  if (att) r.attestation = *att;
  if (o.contains("extensions") && o["extensions"].is_object()) {
    const json& e = o["extensions"];
    r.cred_props = e.contains("credProps") && e["credProps"] == true;
    if (e.contains("prf")) {
      r.prf = true;
      if (e["prf"].is_object() && e["prf"].contains("eval")) {
        HYBRID_TRY(PrfInputs in, prf_inputs_from_json(e["prf"]["eval"], "extensions.prf.eval"));
        r.prf_eval = std::move(in);
      }
    }
  }
  return r;
}

Result<AuthenticationOptions> AuthenticationOptions::from_json(const nlohmann::json& options, std::string origin) {
  const json& o = unwrap(options);
  if (!o.is_object()) return make_error("authentication options must be a JSON object");
  AuthenticationOptions a;
  a.origin = std::move(origin);
  HYBRID_TRY(auto rp_id, string_member(o, "rpId", "authentication options"));
  if (rp_id) {
    a.rp_id = *rp_id;
  } else {
    HYBRID_TRY(a.rp_id, origin_host(a.origin));
  }
  HYBRID_TRY(a.challenge, b64_member(o, "challenge", "authentication options"));
  HYBRID_TRY(a.allow_credentials, descriptor_ids(o, "allowCredentials"));
  HYBRID_TRY(auto uv, string_member(o, "userVerification", "authentication options"));
  if (uv) a.user_verification = *uv;
  if (o.contains("extensions") && o["extensions"].is_object() && o["extensions"].contains("prf")) {
    const json& prf = o["extensions"]["prf"];
    if (prf.is_object() && prf.contains("eval")) {
      HYBRID_TRY(PrfInputs in, prf_inputs_from_json(prf["eval"], "extensions.prf.eval"));
      a.prf_eval = std::move(in);
    }
    if (prf.is_object() && prf.contains("evalByCredential")) {
      if (!prf["evalByCredential"].is_object()) return make_error("extensions.prf.evalByCredential must be an object");
      for (const auto& [key, value] : prf["evalByCredential"].items()) {
        auto id = base64url_decode(key);
        if (!id.ok() || id->empty()) return make_error("extensions.prf.evalByCredential keys must be base64url credential IDs");
        HYBRID_TRY(PrfInputs in, prf_inputs_from_json(value, "extensions.prf.evalByCredential entry"));
        a.prf_eval_by_credential.emplace_back(std::move(id).value(), std::move(in));
      }
    }
  }
  return a;
}

Bytes PreparedRegistration::ctap_request() const {
  return concat(Bytes{static_cast<uint8_t>(ctap::Command::make_credential)}, request.encode());
}

Bytes PreparedAuthentication::ctap_request() const {
  return concat(Bytes{static_cast<uint8_t>(ctap::Command::get_assertion)}, request.encode());
}

Result<PreparedRegistration> prepare_registration(const RegistrationOptions& o, const ctap::GetInfoResponse* info) {
  if (!rp_id_matches_origin(o.rp_id, o.origin)) {
    return make_error(fmt::format("the RP ID '{}' does not belong to the origin '{}'", o.rp_id, o.origin));
  }
  if (o.challenge.size() < 16) return make_error(fmt::format("the challenge is {} bytes; at least 16 are needed", o.challenge.size()));
  if (o.user.id.empty() || o.user.id.size() > ctap::kMaxUserIdLength) {
    return make_error(fmt::format("the user handle must be 1 to 64 bytes, got {}", o.user.id.size()));
  }
  HYBRID_TRY_STATUS(check_requirement(o.user_verification, "userVerification"));
  HYBRID_TRY_STATUS(check_requirement(o.resident_key, "residentKey"));
  if (std::find(o.algorithms.begin(), o.algorithms.end(), ctap::kAlgEs256) == o.algorithms.end()) {
    return make_error("the site accepts no ES256 (-7) key, the only kind phones make here");
  }
  const bool phone_uv = !info || info->option("uv");
  const bool phone_rk = !info || info->option("rk");
  if (o.user_verification == "required" && !phone_uv) return make_error("the site requires user verification, which this phone cannot do");
  if (o.resident_key == "required" && !phone_rk) return make_error("the site requires a discoverable passkey, which this phone cannot make");

  PreparedRegistration p;
  p.options = o;
  p.client_data_json = client_data_json(kTypeCreate, o.challenge, o.origin);
  ctap::MakeCredentialRequest& r = p.request;
  r.client_data_hash = crypto::sha256(as_bytes(p.client_data_json));
  r.rp = ctap::RpEntity{o.rp_id, o.rp_name};
  r.user = o.user;
  for (int64_t alg : o.algorithms) r.pub_key_cred_params.push_back(ctap::CredentialParameter{std::string(ctap::kPublicKeyType), alg});
  for (const auto& id : o.exclude_credentials) r.exclude_list.push_back(ctap::CredentialDescriptor{std::string(ctap::kPublicKeyType), id, std::nullopt});
  if (o.resident_key == "required" || (o.resident_key == "preferred" && phone_rk)) r.rk = true;
  if (o.user_verification == "required" || (o.user_verification == "preferred" && phone_uv)) r.uv = true;
  if (o.prf && (!info || info->has_extension(ctap::kExtPrf))) {
    ctap::PrfRequest prf;
    if (o.prf_eval) prf.eval = salts_of(*o.prf_eval);
    r.prf = std::move(prf);
  }
  return p;
}

Result<PreparedAuthentication> prepare_authentication(const AuthenticationOptions& o, const ctap::GetInfoResponse* info) {
  if (!rp_id_matches_origin(o.rp_id, o.origin)) {
    return make_error(fmt::format("the RP ID '{}' does not belong to the origin '{}'", o.rp_id, o.origin));
  }
  if (o.challenge.size() < 16) return make_error(fmt::format("the challenge is {} bytes; at least 16 are needed", o.challenge.size()));
  HYBRID_TRY_STATUS(check_requirement(o.user_verification, "userVerification"));
  const bool phone_uv = !info || info->option("uv");
  if (o.user_verification == "required" && !phone_uv) return make_error("the site requires user verification, which this phone cannot do");

  PreparedAuthentication p;
  p.options = o;
  p.client_data_json = client_data_json(kTypeGet, o.challenge, o.origin);
  ctap::GetAssertionRequest& r = p.request;
  r.rp_id = o.rp_id;
  r.client_data_hash = crypto::sha256(as_bytes(p.client_data_json));
  for (const auto& id : o.allow_credentials) r.allow_list.push_back(ctap::CredentialDescriptor{std::string(ctap::kPublicKeyType), id, std::nullopt});
  if (o.user_verification == "required" || (o.user_verification == "preferred" && phone_uv)) r.uv = true;
  if ((o.prf_eval || !o.prf_eval_by_credential.empty()) && (!info || info->has_extension(ctap::kExtPrf))) {
    ctap::PrfRequest prf;
    if (o.prf_eval) prf.eval = salts_of(*o.prf_eval);
    for (const auto& [id, in] : o.prf_eval_by_credential) prf.eval_by_credential.emplace_back(id, salts_of(in));
    r.prf = std::move(prf);
  }
  return p;
}

Result<nlohmann::json> finish_registration(const PreparedRegistration& prepared, ByteView ctap_response) {
  HYBRID_TRY(ByteView payload, ok_payload(ctap_response));
  auto decoded = ctap::MakeCredentialResponse::decode(payload);
  if (!decoded.ok()) return decoded.error().with_context("the phone's makeCredential response");
  ctap::MakeCredentialResponse resp = std::move(decoded).value();
  auto ad = ctap::AuthenticatorData::parse(resp.auth_data);
  if (!ad.ok()) return ad.error().with_context("the phone's makeCredential response");
  if (!ad->attested) return make_error("the phone's makeCredential response has no attested credential data");
  if (ad->rp_id_hash != ctap::rp_id_hash(prepared.options.rp_id)) return make_error("the phone answered for another RP ID");
  auto key = ctap::p256_from_cose_key_bytes(ad->attested->public_key_cose);
  if (!key.ok()) return key.error().with_context("the phone's credential public key");
  // Attestation conveyance "none": the client replaces the statement (WebAuthn §5.1.3
  // step 22), keeping the authenticator data (and its AAGUID) as signed.
  if (prepared.options.attestation == "none" && resp.fmt != ctap::kFmtNone) {
    resp.fmt = std::string(ctap::kFmtNone);
    resp.att_stmt = ctap::none_statement();
  }
  const Bytes& id = ad->attested->credential_id;
  json ext = json::object();
  if (prepared.options.cred_props) ext["credProps"] = {{"rk", prepared.request.rk.value_or(false)}};
  if (prepared.options.prf) {
    auto prf = prf_output(resp.unsigned_extension_outputs);
    json p = {{"enabled", prf && prf->enabled.value_or(false)}};
    if (prf && prf->results) p["results"] = prf_results_json(*prf->results);
    ext["prf"] = p;
  }
  json out;
  out["id"] = base64url_encode(id);
  out["rawId"] = base64url_encode(id);
  out["type"] = "public-key";
  out["authenticatorAttachment"] = "cross-platform";
  out["response"] = {
      {"clientDataJSON", base64url_encode(as_bytes(prepared.client_data_json))},
      {"attestationObject", base64url_encode(resp.attestation_object())},
      {"authenticatorData", base64url_encode(resp.auth_data)},
      {"publicKey", base64url_encode(ctap::p256_spki_der(*key))},
      {"publicKeyAlgorithm", ctap::kAlgEs256},
      {"transports", json::array({"hybrid"})},
  };
  out["clientExtensionResults"] = ext;
  return out;
}

Result<nlohmann::json> finish_authentication(const PreparedAuthentication& prepared, ByteView ctap_response) {
  HYBRID_TRY(ByteView payload, ok_payload(ctap_response));
  auto decoded = ctap::GetAssertionResponse::decode(payload);
  if (!decoded.ok()) return decoded.error().with_context("the phone's getAssertion response");
  const ctap::GetAssertionResponse& resp = *decoded;
  auto ad = ctap::AuthenticatorData::parse(resp.auth_data);
  if (!ad.ok()) return ad.error().with_context("the phone's getAssertion response");
  if (ad->rp_id_hash != ctap::rp_id_hash(prepared.options.rp_id)) return make_error("the phone answered for another RP ID");
  Bytes id;
  if (resp.credential) {
    id = resp.credential->id;
  } else if (prepared.options.allow_credentials.size() == 1) {
    id = prepared.options.allow_credentials.front();  // CTAP lets the phone omit it then
  } else {
    return make_error("the phone's assertion does not say which passkey it used");
  }
  if (!prepared.options.allow_credentials.empty() &&
      std::find(prepared.options.allow_credentials.begin(), prepared.options.allow_credentials.end(), id) ==
          prepared.options.allow_credentials.end()) {
    return make_error("the phone used a passkey the site did not ask for");
  }
  json response = {
      {"clientDataJSON", base64url_encode(as_bytes(prepared.client_data_json))},
      {"authenticatorData", base64url_encode(resp.auth_data)},
      {"signature", base64url_encode(resp.signature)},
  };
  response["userHandle"] = resp.user ? json(base64url_encode(resp.user->id)) : json(nullptr);
  json ext = json::object();
  if (prepared.request.prf) {
    auto prf = prf_output(resp.unsigned_extension_outputs);
    if (prf && prf->results) ext["prf"] = {{"results", prf_results_json(*prf->results)}};
  }
  json out;
  out["id"] = base64url_encode(id);
  out["rawId"] = base64url_encode(id);
  out["type"] = "public-key";
  out["authenticatorAttachment"] = "cross-platform";
  out["response"] = response;
  out["clientExtensionResults"] = ext;
  return out;
}

}  // namespace hybrid::webauthn
