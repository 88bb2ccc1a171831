// authenticatorGetAssertion (0x02) and authenticatorGetNextAssertion (0x08): request and
// response (CTAP 2.1 §6.2, §6.3). getNextAssertion has no parameters and answers with
// the same response structure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ctap/entities.h"
#include "ctap/extensions.h"
#include "ctap/make_credential.h"

namespace hybrid::ctap {

struct GetAssertionRequest {
  std::string rp_id;                              // 0x01
  ClientDataHash client_data_hash{};              // 0x02
  std::vector<CredentialDescriptor> allow_list;   // 0x03 (omitted when empty)
  // 0x04 extensions.
  std::optional<PrfRequest> prf;
  cbor::Map other_extensions;  // includes an hmac-secret input, which needs a PIN protocol
  // 0x05 options.
  std::optional<bool> up, uv;
  std::optional<Bytes> pin_uv_auth_param;         // 0x06
  std::optional<uint64_t> pin_uv_auth_protocol;   // 0x07

  Bytes encode() const;
  static Result<GetAssertionRequest> decode(ByteView cbor);
};

struct GetAssertionResponse {
  std::optional<CredentialDescriptor> credential;  // 0x01
  Bytes auth_data;                                 // 0x02
  Bytes signature;                                 // 0x03 (DER ECDSA for ES256)
  std::optional<UserEntity> user;                  // 0x04
  std::optional<uint64_t> number_of_credentials;   // 0x05
  std::optional<bool> user_selected;               // 0x06
  std::optional<Bytes> large_blob_key;             // 0x07
  std::optional<cbor::Map> unsigned_extension_outputs;  // 0x08

  Bytes encode() const;
  static Result<GetAssertionResponse> decode(ByteView cbor);
};

}  // namespace hybrid::ctap
