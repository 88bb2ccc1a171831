#include "hybrid/advert.h"

#include "crypto/primitives.h"
#include "hybrid/domains.h"

namespace hybrid {

AdvertPlaintext AdvertContents::to_plaintext() const {
  AdvertPlaintext p{};
  p[0] = 0;
  std::copy(nonce.bytes.begin(), nonce.bytes.end(), p.begin() + 1);
  std::copy(routing_id.bytes.begin(), routing_id.bytes.end(), p.begin() + 11);
  p[14] = static_cast<uint8_t>(domain_id);
  p[15] = static_cast<uint8_t>(domain_id >> 8);
  return p;
}

Result<AdvertContents> AdvertContents::parse(ByteView plaintext) {
  if (plaintext.size() != kAdvertPlaintextSize) {
    return make_error("an advert plaintext is 16 bytes, got " + std::to_string(plaintext.size()));
  }
  if (plaintext[0] != 0) {
    return make_error("the advert's reserved first byte is not zero (a feature this client does not know)");
  }
  AdvertContents c;
  std::copy(plaintext.begin() + 1, plaintext.begin() + 11, c.nonce.bytes.begin());
  std::copy(plaintext.begin() + 11, plaintext.begin() + 14, c.routing_id.bytes.begin());
  c.domain_id = static_cast<uint16_t>(plaintext[14] | plaintext[15] << 8);
  if (!is_known_domain_id(c.domain_id)) {
    return make_error("the advert names tunnel-server domain " + std::to_string(c.domain_id) +
                      ", which is reserved (2..255 are unassigned)");
  }
  return c;
}

Advert encrypt_advert(ByteView eid_key, const AdvertPlaintext& plaintext) {
  auto block = crypto::aes256_encrypt_block(eid_key.first(32), plaintext);
  auto tag = crypto::hmac_sha256(eid_key.subspan(32, 32), block);
  Advert out{};
  std::copy(block.begin(), block.end(), out.begin());
  std::copy(tag.begin(), tag.begin() + 4, out.begin() + 16);
  return out;
}

std::optional<AdvertPlaintext> trial_decrypt_advert(ByteView eid_key, ByteView advert, bool allow_suffix) {
  if (eid_key.size() != kEidKeySize) return std::nullopt;
  if (advert.size() < kAdvertSize || (!allow_suffix && advert.size() != kAdvertSize)) return std::nullopt;
  ByteView ciphertext = advert.first(16);
  auto tag = crypto::hmac_sha256(eid_key.subspan(32, 32), ciphertext);
  if (!constant_time_equal(ByteView(tag).first(4), advert.subspan(16, 4))) return std::nullopt;
  ByteArray<16> block{};
  std::copy(ciphertext.begin(), ciphertext.end(), block.begin());
  auto plaintext = crypto::aes256_decrypt_block(eid_key.first(32), block);
  if (plaintext[0] != 0) return std::nullopt;
  return plaintext;
}

AdvertPlaintext random_linked_advert_plaintext() {
  for (;;) {
    auto p = crypto::random_array<kAdvertPlaintextSize>();
    p[0] = 0;
    uint16_t tail = static_cast<uint16_t>(p[14] | p[15] << 8);
    if (is_known_domain_id(tail)) return p;
  }
}

}  // namespace hybrid
