#include "ctap/auth_data.h"

#include <fmt/format.h>

#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "ctap/cbor_util.h"
#include "ctap/commands.h"

namespace hybrid::ctap {

std::string aaguid_to_string(const Aaguid& aaguid) {
  std::string hex = hex_encode(aaguid);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) +
         "-" + hex.substr(20);
}

Result<Aaguid> aaguid_from_string(std::string_view text) {
  std::string hex;
  if (text.size() == 36) {
    for (size_t i = 0; i < text.size(); ++i) {
      const bool dash_position = (i == 8 || i == 13 || i == 18 || i == 23);
      if (dash_position != (text[i] == '-')) {
        return make_error(fmt::format("'{}' is not an AAGUID (expected 8-4-4-4-12 hex digits)", text));
      }
      if (!dash_position) hex.push_back(text[i]);
    }
  } else if (text.size() == 32) {
    hex = std::string(text);
  } else {
    return make_error(fmt::format("'{}' is not an AAGUID (expected 8-4-4-4-12 hex digits)", text));
  }
  auto bytes = hex_decode(hex);
  if (!bytes.ok()) return make_error(fmt::format("'{}' is not an AAGUID: {}", text, bytes.error().message));
  return to_array<16>(*bytes, "AAGUID");
}

ByteArray<32> rp_id_hash(std::string_view rp_id) { return crypto::sha256(hybrid::as_bytes(rp_id)); }

Bytes AuthenticatorData::encode() const {
  Bytes out(rp_id_hash.begin(), rp_id_hash.end());
  uint8_t f = flags & static_cast<uint8_t>(~(flags::kAttestedData | flags::kExtensionData));
  if (attested) f |= flags::kAttestedData;
  if (extensions) f |= flags::kExtensionData;
  out.push_back(f);
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(sign_count >> s));
  if (attested) {
    out.insert(out.end(), attested->aaguid.begin(), attested->aaguid.end());
    const size_t n = attested->credential_id.size();
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
    out.insert(out.end(), attested->credential_id.begin(), attested->credential_id.end());
    out.insert(out.end(), attested->public_key_cose.begin(), attested->public_key_cose.end());
  }
  if (extensions) {
    Bytes ext = cbor::encode(cbor::Value(*extensions));
    out.insert(out.end(), ext.begin(), ext.end());
  }
  return out;
}

Result<AuthenticatorData> AuthenticatorData::parse(ByteView data) {
  auto bad = [](std::string m) { return ctap_error(StatusCode::invalid_parameter, "authenticator data: " + m); };
  if (data.size() < 37) return bad(fmt::format("needs at least 37 bytes, got {}", data.size()));
  AuthenticatorData ad;
  std::copy(data.begin(), data.begin() + 32, ad.rp_id_hash.begin());
  ad.flags = data[32];
  ad.sign_count = (uint32_t(data[33]) << 24) | (uint32_t(data[34]) << 16) | (uint32_t(data[35]) << 8) |
                  uint32_t(data[36]);
  size_t pos = 37;
  cbor::DecodeOptions lenient;  // what authenticators write is signed as is: any key order
  lenient.max_depth = kMaxCborDepth;
  lenient.require_canonical = false;
  lenient.allow_trailing = true;
  if (ad.flags & flags::kAttestedData) {
    if (data.size() < pos + 18) return bad("attested credential data is cut short");
    AttestedCredentialData acd;
    std::copy(data.begin() + pos, data.begin() + pos + 16, acd.aaguid.begin());
    pos += 16;
    const size_t id_len = (size_t(data[pos]) << 8) | data[pos + 1];
    pos += 2;
    if (id_len == 0 || id_len > kMaxCredentialIdLength) {
      return bad(fmt::format("credential ID length {} is outside 1…{}", id_len, kMaxCredentialIdLength));
    }
    if (data.size() < pos + id_len) return bad("credential ID is cut short");
    acd.credential_id.assign(data.begin() + pos, data.begin() + pos + id_len);
    pos += id_len;
    auto key = cbor::decode_prefix(data.subspan(pos), lenient);
    if (!key.ok()) return ctap_error(StatusCode::invalid_cbor, "authenticator data: COSE key: " + key.error().message);
    if (!key->value.is_map()) return bad("the credential public key is not a COSE_Key map");
    acd.public_key_cose.assign(data.begin() + pos, data.begin() + pos + key->consumed);
    pos += key->consumed;
    ad.attested = std::move(acd);
  }
  if (ad.flags & flags::kExtensionData) {
    if (pos >= data.size()) return bad("the ED flag is set but no extensions follow");
    auto ext = cbor::decode_prefix(data.subspan(pos), lenient);
    if (!ext.ok()) return ctap_error(StatusCode::invalid_cbor, "authenticator data: extensions: " + ext.error().message);
    if (!ext->value.is_map()) return bad("extensions are not a map");
    ad.extensions = ext->value.as_map();
    pos += ext->consumed;
  }
  if (pos != data.size()) {
    return bad(fmt::format("{} unexpected bytes after the {}", data.size() - pos,
                           (ad.flags & (flags::kAttestedData | flags::kExtensionData)) ? "last item" : "sign count"));
  }
  return ad;
}

}  // namespace hybrid::ctap
