// Attestation statements: the authenticator signs them ("none", "packed" self, "packed"
// with an x5c chain) and the relying party verifies them (WebAuthn §8.2, §8.7).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "crypto/p256.h"
#include "ctap/auth_data.h"
#include "ctap/make_credential.h"
#include "ctap/x509.h"

namespace hybrid::ctap {

enum class AttestationMode { none, packed_self, packed_x5c };
std::string_view attestation_mode_name(AttestationMode mode);  // "none", "packed-self", "packed-x5c"
Result<AttestationMode> attestation_mode_from_name(std::string_view name);

inline constexpr std::string_view kFmtNone = "none";
inline constexpr std::string_view kFmtPacked = "packed";

// {} for "none".
cbor::Map none_statement();
// {alg: -7, sig}: signed with the credential's own key over authData ‖ clientDataHash.
cbor::Map packed_self_statement(const crypto::P256KeyPair& credential_key, ByteView auth_data,
                                const ClientDataHash& client_data_hash);
// {alg: -7, sig, x5c: [batch]}: signed with the batch key.
cbor::Map packed_x5c_statement(const AttestationIdentity& identity, ByteView auth_data,
                               const ClientDataHash& client_data_hash);

enum class AttestationType {
  none,         // "none": no provenance
  self,         // packed without x5c: proves only possession of the credential key
  basic,        // packed with x5c: a certificate chain names the model
  unsupported,  // a format this verifier does not check (treated as unattested)
};
std::string_view attestation_type_name(AttestationType type);

struct AttestationResult {
  std::string fmt;
  AttestationType type = AttestationType::none;
  std::vector<Certificate> x5c;  // leaf first
  bool trusted = false;          // x5c chains to one of the configured roots
  std::string untrusted_reason;  // why not, when there is a chain that does not verify
};

// Checks the statement against the authenticator data and client data hash. A malformed
// statement or a bad signature is an error; a valid chain that does not reach a trusted
// root is not (trusted = false): whether that is acceptable is the policy's decision.
Result<AttestationResult> verify_attestation(const MakeCredentialResponse& attestation, const AuthenticatorData& auth_data,
                                             const ClientDataHash& client_data_hash,
                                             const std::vector<Certificate>& trusted_roots);

}  // namespace hybrid::ctap
