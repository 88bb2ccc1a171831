#include "qr/payload.h"

#include "base/utf8.h"

#include <fmt/format.h>

#include "cbor/codec.h"
#include "qr/digits.h"

namespace hybrid::qr {
namespace {

constexpr int64_t kKeyIdentity = 0;
constexpr int64_t kKeySecret = 1;
constexpr int64_t kKeyKnownDomains = 2;
constexpr int64_t kKeyTimestamp = 3;
constexpr int64_t kKeyLinking = 4;
constexpr int64_t kKeyRequestType = 5;
constexpr int64_t kKeyTransports = 6;
constexpr size_t kCompressedPointSize = 33;

Error field_error(std::string message) { return make_error(QrError::bad_field, std::move(message)); }

bool is_known_key(const cbor::Value& key) {
  return key.is_unsigned() && key.as_unsigned() <= uint64_t(kKeyTransports);
}


// What Chromium's CBOR reader rejects beyond canonical form, which our shared decoder
// lets through: map keys other than integers and strings, invalid UTF-8 in text, and
// unsigned integers above INT64_MAX (Chromium's cbor::Value holds int64).
Status check_chromium_value_rules(const cbor::Value& v) {
  switch (v.type()) {
    case cbor::Value::Type::unsigned_int:
      if (!v.fits_int64()) return make_error(QrError::bad_cbor, "an integer is above 2^63-1");
      return {};
    case cbor::Value::Type::text:
      if (!is_valid_utf8(v.as_text())) {
        return make_error(QrError::bad_cbor, "a text string is not valid UTF-8");
      }
      return {};
    case cbor::Value::Type::array:
      for (const auto& item : v.as_array()) HYBRID_TRY_STATUS(check_chromium_value_rules(item));
      return {};
    case cbor::Value::Type::map:
      for (const auto& [key, value] : v.as_map()) {
        if (!key.is_integer() && !key.is_bytes() && !key.is_text()) {
          return make_error(QrError::bad_cbor,
                            fmt::format("a map key is a {}; keys must be integers or strings",
                                        key.type_name()));
        }
        HYBRID_TRY_STATUS(check_chromium_value_rules(key));
        HYBRID_TRY_STATUS(check_chromium_value_rules(value));
      }
      return {};
    default:
      return {};
  }
}

Result<uint64_t> unsigned_field(const cbor::Value& v, int64_t key, std::string_view what) {
  if (!v.is_unsigned()) {
    return field_error(fmt::format("key {} ({}) must be an unsigned integer, got a {}", key, what,
                                   v.type_name()));
  }
  return v.as_unsigned();
}

}  // namespace

std::string_view request_type_hint(RequestType type) {
  switch (type) {
    case RequestType::make_credential: return "mc";
    case RequestType::digital_credential_presentation: return "dcp";
    case RequestType::get_assertion: break;
  }
  return "ga";
}

RequestType request_type_from_hint(std::string_view hint) {
  if (hint == "mc") return RequestType::make_credential;
  if (hint == "dcp") return RequestType::digital_credential_presentation;
  return RequestType::get_assertion;
}

RequestType QrPayload::request_type() const {
  return request_hint ? request_type_from_hint(*request_hint) : RequestType::get_assertion;
}

Bytes encode_cbor(const QrPayload& p) {
  cbor::Map m;
  const crypto::CompressedPoint point = p.identity_key.compressed();
  m.set(kKeyIdentity, point);
  m.set(kKeySecret, p.secret);
  if (p.known_domains) m.set(kKeyKnownDomains, *p.known_domains);
  if (p.timestamp) m.set(kKeyTimestamp, *p.timestamp);
  if (p.supports_linking) m.set(kKeyLinking, *p.supports_linking);
  if (p.request_hint) m.set(kKeyRequestType, *p.request_hint);
  if (p.key6) m.set(kKeyTransports, *p.key6);
  for (const auto& [key, value] : p.unknown_keys) {
    if (!is_known_key(key)) m.set(key, value);
  }
  return cbor::encode(cbor::Value(std::move(m)));
}

Result<QrPayload> parse_cbor(ByteView bytes) {
  auto decoded = cbor::decode(bytes);  // canonical, no trailing bytes, depth ≤ 16
  if (!decoded.ok()) {
    return make_error(QrError::bad_cbor,
                      "the QR payload is not one canonical CBOR item: " + decoded.error().message);
  }
  const cbor::Value& root = *decoded;
  if (!root.is_map()) {
    return make_error(QrError::bad_cbor,
                      fmt::format("the QR payload must be a CBOR map, got a {}", root.type_name()));
  }
  if (auto st = check_chromium_value_rules(root); !st.ok()) {
    return st.error().with_context("the QR payload's CBOR");
  }
  const cbor::Map& map = root.as_map();

  const cbor::Value* key0 = map.find(kKeyIdentity);
  if (!key0) return field_error("key 0 (the identity public key) is missing");
  if (!key0->is_bytes()) {
    return field_error(fmt::format("key 0 (the identity public key) must be a byte string, got a {}",
                                   key0->type_name()));
  }
  const Bytes& point = key0->as_bytes();
  if (point.size() != kCompressedPointSize || (point[0] != 0x02 && point[0] != 0x03)) {
    return field_error(fmt::format(
        "key 0 (the identity public key) must be a 33-byte compressed P-256 point starting "
        "with 02 or 03, got {} bytes",
        point.size()));
  }
  auto key = crypto::P256PublicKey::parse(point);
  if (!key.ok()) {
    return field_error("key 0 (the identity public key) is not a point on the P-256 curve");
  }

  const cbor::Value* key1 = map.find(kKeySecret);
  if (!key1) return field_error("key 1 (the QR secret) is missing");
  if (!key1->is_bytes()) {
    return field_error(
        fmt::format("key 1 (the QR secret) must be a byte string, got a {}", key1->type_name()));
  }
  if (key1->as_bytes().size() != kQrSecretSize) {
    return field_error(fmt::format("key 1 (the QR secret) must be {} bytes, got {}", kQrSecretSize,
                                   key1->as_bytes().size()));
  }

  QrPayload out{std::move(key).value()};
  std::copy(key1->as_bytes().begin(), key1->as_bytes().end(), out.secret.begin());

  for (const auto& [k, v] : map) {
    if (!is_known_key(k)) {
      out.unknown_keys.emplace_back(k, v);
      continue;
    }
    switch (static_cast<int64_t>(k.as_unsigned())) {
      case kKeyKnownDomains: {
        HYBRID_TRY(out.known_domains, unsigned_field(v, kKeyKnownDomains, "number of known tunnel domains"));
        break;
      }
      case kKeyTimestamp: {
        HYBRID_TRY(out.timestamp, unsigned_field(v, kKeyTimestamp, "timestamp"));
        break;
      }
      case kKeyLinking:
        if (!v.is_bool()) {
          return field_error(fmt::format("key 4 (supports linking) must be a boolean, got a {}",
                                         v.type_name()));
        }
        out.supports_linking = v.as_bool();
        break;
      case kKeyRequestType:
        if (!v.is_text()) {
          return field_error(fmt::format("key 5 (request type hint) must be a text string, got a {}",
                                         v.type_name()));
        }
        out.request_hint = v.as_text();
        break;
      case kKeyTransports:
        out.key6 = v;
        break;
      default:
        break;  // keys 0 and 1, handled above
    }
  }
  return out;
}

std::string encode_url(const QrPayload& payload) {
  return std::string(kUrlPrefix) + digits_encode(encode_cbor(payload));
}

Result<QrPayload> parse_url(std::string_view url) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
  bool prefixed = url.size() >= kUrlPrefix.size();
  for (size_t i = 0; prefixed && i < kUrlPrefix.size(); ++i) {
    prefixed = lower(url[i]) == lower(kUrlPrefix[i]);
  }
  if (!prefixed) {
    return make_error(QrError::not_fido_url,
                      "not a hybrid QR code: the text must start with FIDO:/ followed by digits");
  }
  std::string_view digits = url.substr(kUrlPrefix.size());
  if (digits.empty()) {
    return make_error(QrError::not_fido_url, "the QR code has no digits after FIDO:/");
  }
  auto bytes = digits_decode(digits);
  if (!bytes.ok()) {
    return make_error(QrError::bad_digits, "the digits after FIDO:/ are invalid: " +
                                               bytes.error().message);
  }
  return parse_cbor(*bytes);
}

QrPayload make_client_payload(const crypto::P256PublicKey& identity, const ByteArray<16>& secret,
                              RequestType type, std::optional<bool> offer_linking,
                              uint64_t now_unix) {
  QrPayload p{identity, secret};
  p.known_domains = kKnownDomainCount;
  p.timestamp = now_unix;
  p.supports_linking = offer_linking;
  p.request_hint = std::string(request_type_hint(type));
  return p;
}

}  // namespace hybrid::qr
