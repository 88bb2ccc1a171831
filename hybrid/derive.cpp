#include "hybrid/derive.h"

#include "crypto/primitives.h"

namespace hybrid {

Bytes derive(ByteView secret, ByteView salt, DerivedValue purpose, size_t length) {
  uint32_t p = static_cast<uint32_t>(purpose);
  uint8_t info[4] = {uint8_t(p), uint8_t(p >> 8), uint8_t(p >> 16), uint8_t(p >> 24)};
  return crypto::hkdf_sha256(secret, salt, ByteView(info, 4), length);
}

SecretBytes derive_eid_key(ByteView secret, ByteView salt) {
  return SecretBytes(derive(secret, salt, DerivedValue::eid_key, kEidKeySize));
}

TunnelId derive_tunnel_id(const QrSecret& qr_secret) {
  auto b = derive(qr_secret, {}, DerivedValue::tunnel_id, kTunnelIdSize);
  TunnelId id;
  std::copy(b.begin(), b.end(), id.bytes.begin());
  return id;
}

SecretBytes derive_psk(ByteView secret, const AdvertPlaintext& plaintext) {
  return SecretBytes(derive(secret, plaintext, DerivedValue::psk, kPskSize));
}

}  // namespace hybrid
