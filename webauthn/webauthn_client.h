// The client (PC) side of WebAuthn over CTAP, as `hybrid sign-in`/`register` and the
// kiosk use it: build clientDataJSON and the CTAP request from WebAuthn-like options,
// then turn the phone's answer into WebAuthn Level 3 PublicKeyCredential.toJSON() JSON
// (what a browser would hand to a relying party's server).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctap/get_assertion.h"
#include "ctap/get_info.h"
#include "ctap/make_credential.h"

namespace hybrid::webauthn {

// A WebAuthn PRF input pair (raw; the client hashes it into a salt).
struct PrfInputs {
  Bytes first;
  std::optional<Bytes> second;
};

struct RegistrationOptions {
  std::string origin;  // "https://example.com"
  std::string rp_id;
  std::optional<std::string> rp_name;
  ctap::UserEntity user;
  Bytes challenge;
  std::vector<int64_t> algorithms{ctap::kAlgEs256, ctap::kAlgRs256};
  std::vector<Bytes> exclude_credentials;
  std::string user_verification = "preferred";  // required | preferred | discouraged
  std::string resident_key = "required";        // required | preferred | discouraged
  std::string attestation = "none";             // none | indirect | direct | enterprise
  bool cred_props = false;
  bool prf = false;                   // extensions.prf present
  std::optional<PrfInputs> prf_eval;  // extensions.prf.eval

  // From a PublicKeyCredentialCreationOptionsJSON object (WebAuthn L3 §5.1.1, as servers
  // send it: base64url challenge and user.id), or {"publicKey": {...}} around it.
  static Result<RegistrationOptions> from_json(const nlohmann::json& options, std::string origin);
};

struct AuthenticationOptions {
  std::string origin;
  std::string rp_id;
  Bytes challenge;
  std::vector<Bytes> allow_credentials;
  std::string user_verification = "preferred";
  std::optional<PrfInputs> prf_eval;
  std::vector<std::pair<Bytes, PrfInputs>> prf_eval_by_credential;

  // From a PublicKeyCredentialRequestOptionsJSON object (or {"publicKey": {...}}).
  static Result<AuthenticationOptions> from_json(const nlohmann::json& options, std::string origin);
};

struct PreparedRegistration {
  RegistrationOptions options;
  std::string client_data_json;
  ctap::MakeCredentialRequest request;
  Bytes ctap_request() const;  // 0x01 ‖ CBOR: what goes after the hybrid frame's 0x01 type byte
};

struct PreparedAuthentication {
  AuthenticationOptions options;
  std::string client_data_json;
  ctap::GetAssertionRequest request;
  Bytes ctap_request() const;  // 0x02 ‖ CBOR
};

// `info` (the phone's getInfo, when known) decides "preferred" UV/rk and whether PRF can
// be asked for. Errors: an RP ID that does not belong to the origin, an empty challenge,
// user verification required from a phone that cannot do it, no ES256 among algorithms.
Result<PreparedRegistration> prepare_registration(const RegistrationOptions& options,
                                                  const ctap::GetInfoResponse* info = nullptr);
Result<PreparedAuthentication> prepare_authentication(const AuthenticationOptions& options,
                                                      const ctap::GetInfoResponse* info = nullptr);

// `ctap_response` = status ‖ CBOR as the phone sent it. A non-zero status is an Error whose
// code is the CTAP status and whose message says what it means for the person.
Result<nlohmann::json> finish_registration(const PreparedRegistration& prepared, ByteView ctap_response);
Result<nlohmann::json> finish_authentication(const PreparedAuthentication& prepared, ByteView ctap_response);

// "the phone has no passkey for this site" etc., for CTAP statuses a person may meet.
std::string explain_ctap_status(uint8_t status);

}  // namespace hybrid::webauthn
