// authenticatorMakeCredential (0x01): request and response (CTAP 2.1 §6.1), and the
// WebAuthn attestation object built from the response.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ctap/auth_data.h"
#include "ctap/entities.h"
#include "ctap/extensions.h"

namespace hybrid::ctap {

using ClientDataHash = ByteArray<32>;

struct MakeCredentialRequest {
  ClientDataHash client_data_hash{};                 // 0x01
  RpEntity rp;                                       // 0x02
  UserEntity user;                                   // 0x03
  std::vector<CredentialParameter> pub_key_cred_params;  // 0x04
  std::vector<CredentialDescriptor> exclude_list;    // 0x05 (omitted when empty)
  // 0x06 extensions: the known ones typed, the rest kept as they came.
  std::optional<PrfRequest> prf;
  bool hmac_secret = false;
  std::optional<uint64_t> cred_protect;
  cbor::Map other_extensions;
  // 0x07 options (absent = authenticator default).
  std::optional<bool> rk, up, uv;
  std::optional<Bytes> pin_uv_auth_param;            // 0x08
  std::optional<uint64_t> pin_uv_auth_protocol;      // 0x09
  std::optional<uint64_t> enterprise_attestation;    // 0x0A
  std::vector<std::string> attestation_formats_preference;  // 0x0B (CTAP 2.2)

  Bytes encode() const;  // canonical CBOR parameters, without the command byte
  // Strict; errors carry the CTAP status an authenticator answers with.
  static Result<MakeCredentialRequest> decode(ByteView cbor);
};

struct MakeCredentialResponse {
  std::string fmt;                      // 0x01
  Bytes auth_data;                      // 0x02, the bytes as signed
  cbor::Map att_stmt;                   // 0x03
  std::optional<bool> ep_att;           // 0x04
  std::optional<Bytes> large_blob_key;  // 0x05
  std::optional<cbor::Map> unsigned_extension_outputs;  // 0x06

  Bytes encode() const;
  static Result<MakeCredentialResponse> decode(ByteView cbor);

  // WebAuthn attestation object {"fmt", "attStmt", "authData"} in canonical CBOR.
  Bytes attestation_object() const;
  static Result<MakeCredentialResponse> from_attestation_object(ByteView cbor);
};

}  // namespace hybrid::ctap
