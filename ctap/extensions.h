// Extensions the software phone and the client speak:
//  * "prf" at the CTAP level, as hybrid phones do it (Chromium's phone, Google Play
//    services): makeCredential {"prf": {"eval"?: salts}} → unsigned output
//    {"prf": {"enabled": true, "results"?: …}}; getAssertion {"prf": {"eval"?: salts,
//    "evalByCredential"?: {credential id (bstr): salts}}} → unsigned output
//    {"prf": {"results": {"first": …, "second"?: …}}}. Salts are already hashed by the
//    client (webauthn_prf_salt) and are 32 bytes.
//  * "hmac-secret" where it overlaps: makeCredential {"hmac-secret": true} →
//    authenticator-data output {"hmac-secret": true}. The PRF is evaluated exactly like
//    hmac-secret: HMAC-SHA-256(CredRandomWithUV or CredRandomWithoutUV, salt).
//  * "credProps" is client-side only (WebAuthn §10.1.3): the client reports rk.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "cbor/value.h"

namespace hybrid::ctap {

inline constexpr std::string_view kExtPrf = "prf";
inline constexpr std::string_view kExtHmacSecret = "hmac-secret";
inline constexpr std::string_view kExtCredProtect = "credProtect";
inline constexpr std::string_view kExtCredProps = "credProps";

using PrfSalt = ByteArray<32>;
using PrfValue = ByteArray<32>;

struct PrfSalts {
  PrfSalt first{};
  std::optional<PrfSalt> second;

  cbor::Value to_cbor() const;
  static Result<PrfSalts> from_cbor(const cbor::Value& v, std::string_view what);
  bool operator==(const PrfSalts&) const = default;
};

// The CTAP-level "prf" extension input.
struct PrfRequest {
  std::optional<PrfSalts> eval;
  std::vector<std::pair<Bytes, PrfSalts>> eval_by_credential;  // credential id → salts

  // The salts for one credential: its evalByCredential entry, else eval, else null.
  const PrfSalts* salts_for(ByteView credential_id) const;
  cbor::Value to_cbor() const;
  // `allow_by_credential` is false for makeCredential (evalByCredential is meaningless there).
  static Result<PrfRequest> from_cbor(const cbor::Value& v, bool allow_by_credential);
  bool operator==(const PrfRequest&) const = default;
};

struct PrfResults {
  PrfValue first{};
  std::optional<PrfValue> second;
  ~PrfResults() {  // PRF outputs are key material for the relying party
    secure_wipe(first.data(), first.size());
    if (second) secure_wipe(second->data(), second->size());
  }
  bool operator==(const PrfResults&) const = default;
};

// The CTAP-level "prf" extension output (an unsigned extension output).
struct PrfOutput {
  std::optional<bool> enabled;  // makeCredential only
  std::optional<PrfResults> results;

  cbor::Value to_cbor() const;
  static Result<PrfOutput> from_cbor(const cbor::Value& v);
};

// hmac-secret's evaluation: HMAC-SHA-256(cred_random, salt) for each salt.
PrfResults evaluate_prf(ByteView cred_random, const PrfSalts& salts);

// WebAuthn's PRF salt for a client input: SHA-256("WebAuthn PRF" ‖ 0x00 ‖ input).
PrfSalt webauthn_prf_salt(ByteView input);

}  // namespace hybrid::ctap
