// Authenticator data (WebAuthn §6.1): rpIdHash ‖ flags ‖ signCount ‖ [attested credential
// data] ‖ [extensions], built by the authenticator and parsed by the relying party.
#pragma once

#include <optional>
#include <string>

#include "base/bytes.h"
#include "cbor/value.h"

namespace hybrid::ctap {

using Aaguid = ByteArray<16>;

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case.
std::string aaguid_to_string(const Aaguid& aaguid);
// Accepts the dashed form (either case) or 32 hex digits.
Result<Aaguid> aaguid_from_string(std::string_view text);
inline bool is_zero_aaguid(const Aaguid& a) {
  for (auto b : a)
    if (b) return false;
  return true;
}

namespace flags {
inline constexpr uint8_t kUserPresent = 0x01;        // UP
inline constexpr uint8_t kUserVerified = 0x04;       // UV
inline constexpr uint8_t kBackupEligible = 0x08;     // BE: may be synced (multi-device)
inline constexpr uint8_t kBackedUp = 0x10;           // BS: currently backed up
inline constexpr uint8_t kAttestedData = 0x40;       // AT
inline constexpr uint8_t kExtensionData = 0x80;      // ED
}  // namespace flags

inline constexpr size_t kMaxCredentialIdLength = 1023;  // WebAuthn's bound

struct AttestedCredentialData {
  Aaguid aaguid{};
  Bytes credential_id;
  Bytes public_key_cose;  // the COSE_Key exactly as it appears in the authenticator data
};

struct AuthenticatorData {
  ByteArray<32> rp_id_hash{};
  uint8_t flags = 0;  // AT and ED are set by encode() from what is present
  uint32_t sign_count = 0;
  std::optional<AttestedCredentialData> attested;
  std::optional<cbor::Map> extensions;

  bool user_present() const { return flags & flags::kUserPresent; }
  bool user_verified() const { return flags & flags::kUserVerified; }
  bool backup_eligible() const { return flags & flags::kBackupEligible; }
  bool backed_up() const { return flags & flags::kBackedUp; }

  Bytes encode() const;
  // Strict: AT/ED must match what follows, the COSE key and extensions must be single
  // well-formed CBOR items (map keys may be in any order, since the bytes are signed as
  // they are), nothing may trail. Errors carry CTAP status INVALID_PARAMETER or INVALID_CBOR.
  static Result<AuthenticatorData> parse(ByteView data);
};

// SHA-256 of the RP ID, as authenticator data carries it.
ByteArray<32> rp_id_hash(std::string_view rp_id);

}  // namespace hybrid::ctap
