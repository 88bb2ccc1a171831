// The WebAuthn entities CTAP2 carries (CTAP 2.1 §6.1, WebAuthn §5.4): relying party, user,
// credential descriptor and credential parameters, with CBOR encode and strict decode.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "cbor/value.h"

namespace hybrid::ctap {

inline constexpr int64_t kAlgEs256 = -7;    // ECDSA P-256 with SHA-256
inline constexpr int64_t kAlgRs256 = -257;  // RSASSA-PKCS1-v1_5 with SHA-256 (not made here)
inline constexpr std::string_view kPublicKeyType = "public-key";
inline constexpr size_t kMaxUserIdLength = 64;  // WebAuthn: user handle is at most 64 bytes

struct RpEntity {
  std::string id;
  std::optional<std::string> name;

  cbor::Value to_cbor() const;
  static Result<RpEntity> from_cbor(const cbor::Value& v);
  bool operator==(const RpEntity&) const = default;
};

struct UserEntity {
  Bytes id;  // the user handle, 1…64 bytes
  std::optional<std::string> name;
  std::optional<std::string> display_name;

  cbor::Value to_cbor() const;
  static Result<UserEntity> from_cbor(const cbor::Value& v);
  bool operator==(const UserEntity&) const = default;
};

struct CredentialDescriptor {
  std::string type{kPublicKeyType};  // other types are carried but never matched
  Bytes id;
  std::optional<std::vector<std::string>> transports;

  bool is_public_key() const { return type == kPublicKeyType; }
  cbor::Value to_cbor() const;
  static Result<CredentialDescriptor> from_cbor(const cbor::Value& v);
  bool operator==(const CredentialDescriptor&) const = default;
};

struct CredentialParameter {
  std::string type{kPublicKeyType};
  int64_t alg = kAlgEs256;

  cbor::Value to_cbor() const;
  static Result<CredentialParameter> from_cbor(const cbor::Value& v);
  bool operator==(const CredentialParameter&) const = default;
};

// An array of descriptors (allowList, excludeList); `what` names it in errors.
Result<std::vector<CredentialDescriptor>> descriptors_from_cbor(const cbor::Value& v, std::string_view what);
cbor::Value descriptors_to_cbor(const std::vector<CredentialDescriptor>& list);

}  // namespace hybrid::ctap
