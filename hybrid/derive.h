// §4: the one key-derivation function of the protocol, and its purposes.
#pragma once

#include "base/bytes.h"
#include "hybrid/ids.h"

namespace hybrid {

// HKDF-SHA256(IKM = secret, salt, info = purpose as uint32 little-endian, length).
enum class DerivedValue : uint32_t {
  eid_key = 1,                // 64 bytes: advert AES key ‖ advert HMAC key
  tunnel_id = 2,              // 16 bytes
  psk = 3,                    // 32 bytes, salt = the 16-byte advert plaintext
  paired_secret = 4,          // 32 bytes: the link secret a phone hands out (salt = link ID)
  identity_key_seed = 5,      // 32 bytes: phone identity key seed (Chromium's scheme)
  per_contact_id_secret = 6,  // 32 bytes (salt = contact ID)
};

Bytes derive(ByteView secret, ByteView salt, DerivedValue purpose, size_t length);

// The EID key (advert keys) for a QR code: Derive(qr_secret, "", 1).
SecretBytes derive_eid_key(ByteView secret, ByteView salt = {});
TunnelId derive_tunnel_id(const QrSecret& qr_secret);
SecretBytes derive_psk(ByteView secret, const AdvertPlaintext& plaintext);

}  // namespace hybrid
