// Attestation statements as the authenticator signs them ("none", "packed" self, "packed"
// with an x5c chain; WebAuthn §8.2, §8.7). The relying party verifies them:
// webauthn/attestation_verification.h.
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

}  // namespace hybrid::ctap
