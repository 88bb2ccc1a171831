// §5: the BLE advert ("EID"): a 16-byte plaintext encrypted with AES-256 (one ECB block)
// and authenticated with a 4-byte truncated HMAC-SHA256, 20 bytes on the air.
#pragma once

#include <optional>

#include "hybrid/ids.h"

namespace hybrid {

// §5.4: the QR-initiated plaintext: 00 ‖ nonce(10) ‖ routing ID(3) ‖ domain(2, LE).
struct AdvertContents {
  AdvertNonce nonce;
  RoutingId routing_id;
  uint16_t domain_id = 0;

  AdvertPlaintext to_plaintext() const;
  // Fails for a length other than 16, a non-zero reserved byte, or a domain value this
  // implementation does not know (2..255).
  static Result<AdvertContents> parse(ByteView plaintext);
};

// Encrypts a plaintext with a 64-byte EID key.
Advert encrypt_advert(ByteView eid_key, const AdvertPlaintext& plaintext);

// Trial decryption (Chromium's order: tag, decrypt, reserved byte). Returns nullopt for
// any advert that is not ours: wrong tag, wrong length, reserved byte set. Not an error:
// other phones' adverts are normal. With allow_suffix, bytes after the first 20 (a CTAP
// 2.3 suffix) are ignored; Chromium only accepts exactly 20 bytes.
std::optional<AdvertPlaintext> trial_decrypt_advert(ByteView eid_key, ByteView advert,
                                                    bool allow_suffix = false);

// §5.4: a state-assisted (linked) advert plaintext: 00 ‖ 15 random bytes, avoiding the
// values 2..255 in bytes 14–15 that Chromium's client would treat as an invalid domain.
AdvertPlaintext random_linked_advert_plaintext();

}  // namespace hybrid
