// The FIDO:/ QR payload (docs/protocol.md §3): a canonical CBOR map carried as base-10 digits.
//
//   key 0  identity public key (33-byte compressed P-256 point, on the curve)   required
//   key 1  QR secret (16 bytes)                                                  required
//   key 2  number of assigned tunnel domains the client knows (absent ⇒ 0)
//   key 3  client time, Unix seconds
//   key 4  client supports linking (state-assisted transactions)
//   key 5  request-type hint "ga" / "mc" / "dcp" (unknown or absent ⇒ "ga")
//   key 6  pre-2.3 bool or CTAP 2.3 transport array: kept raw, sent only when set
//   other  tolerated and kept in unknown_keys
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "cbor/value.h"
#include "crypto/p256.h"

namespace hybrid::qr {

// Error codes stored in Error::code by this layer's parsers.
enum class QrError : int {
  not_fido_url = 1,   // no FIDO:/ prefix, or nothing after it
  bad_digits = 2,     // the base-10 encoding is broken
  bad_cbor = 3,       // not exactly one canonical CBOR map
  bad_field = 4,      // a known key is missing or has the wrong type or size
};
HYBRID_ERROR_DOMAIN(QrError, "qr")

inline constexpr std::string_view kUrlPrefix = "FIDO:/";
// The number of assigned tunnel-server domains we know (cable.ua5v.com, cable.auth.com;
// docs/protocol.md §6.1): what key 2 tells the phone.
inline constexpr uint64_t kKnownDomainCount = 2;
inline constexpr size_t kQrSecretSize = 16;

enum class RequestType { get_assertion, make_credential, digital_credential_presentation };

std::string_view request_type_hint(RequestType type);  // "ga" / "mc" / "dcp"
// "mc" / "dcp" / "ga"; anything else (including "") means getAssertion, as the spec says.
RequestType request_type_from_hint(std::string_view hint);

// There is no default constructor because a P256PublicKey is always a valid point:
// build one as QrPayload{key, secret} (or QrPayload{key}) and set the optional fields.
struct QrPayload {
  explicit QrPayload(crypto::P256PublicKey identity, const ByteArray<16>& qr_secret = {})
      : identity_key(std::move(identity)), secret(qr_secret) {}
  ~QrPayload() { secure_wipe(secret.data(), secret.size()); }

  crypto::P256PublicKey identity_key;        // key 0
  ByteArray<16> secret{};                    // key 1
  std::optional<uint64_t> known_domains;     // key 2 (absent ⇒ 0)
  std::optional<uint64_t> timestamp;         // key 3 (Unix seconds)
  std::optional<bool> supports_linking;      // key 4 (emitted only when set)
  std::optional<std::string> request_hint;   // key 5 as received / to emit ("ga", "mc", "XX" …)
  std::optional<cbor::Value> key6;           // key 6 raw; emitted only when set
  // Keys other than 0–6, in map order. encode_cbor() skips entries whose key is 0–6.
  std::vector<std::pair<cbor::Value, cbor::Value>> unknown_keys;

  RequestType request_type() const;  // from request_hint; absent or unknown ⇒ get_assertion
  uint64_t known_domains_or_zero() const { return known_domains.value_or(0); }

  bool operator==(const QrPayload&) const = default;
};

// Canonical CTAP2 CBOR of the map (keys ascending; only the optional keys that are set).
Bytes encode_cbor(const QrPayload& payload);

// Strict, like Chromium's qr::Parse on its canonical CBOR reader: exactly one canonical
// map and nothing after it; map keys integers or strings; text valid UTF-8; integers
// within int64; keys 0 and 1 present with the right types and sizes; key 0 on the curve;
// keys 2 and 3 unsigned integers, key 4 a bool, key 5 a text string. Errors name the key
// and what is wrong; they never quote the payload's bytes.
Result<QrPayload> parse_cbor(ByteView cbor);

// "FIDO:/" + digits_encode(encode_cbor(payload)); the prefix is always upper case so
// that a QR encoder can put it in alphanumeric mode.
std::string encode_url(const QrPayload& payload);

// Accepts the prefix in any case (Chromium compares it case-insensitively), then decodes
// the digits and the map. Nothing else (no "//", query, fragment or whitespace) is allowed.
Result<QrPayload> parse_url(std::string_view url);

// A fresh payload for a client: {0, 1, 2: kKnownDomainCount, 3: now, 5: hint}, plus key 4
// only if offer_linking has a value (docs/protocol.md §3.3: send true only if links are really stored).
QrPayload make_client_payload(const crypto::P256PublicKey& identity, const ByteArray<16>& secret,
                              RequestType type, std::optional<bool> offer_linking,
                              uint64_t now_unix);

}  // namespace hybrid::qr
