// Hashes, MACs, KDFs and ciphers the protocol uses, on OpenSSL 3 EVP APIs only.
#pragma once

#include "base/bytes.h"

namespace hybrid::crypto {

using Sha256Digest = ByteArray<32>;

Sha256Digest sha256(ByteView data);
Sha256Digest hmac_sha256(ByteView key, ByteView data);
// HKDF-SHA256 (RFC 5869). An empty salt is the same as 32 zero bytes.
Bytes hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, size_t length);

// One AES-256 block in ECB mode (the BLE advert's cipher). Key must be 32 bytes.
ByteArray<16> aes256_encrypt_block(ByteView key, const ByteArray<16>& block);
ByteArray<16> aes256_decrypt_block(ByteView key, const ByteArray<16>& block);

// AES-256-GCM with a 12-byte nonce and a 16-byte tag appended to the ciphertext.
Bytes aes256_gcm_seal(ByteView key, const ByteArray<12>& nonce, ByteView aad, ByteView plaintext);
// Fails (without detail, on purpose) when the tag does not authenticate.
Result<Bytes> aes256_gcm_open(ByteView key, const ByteArray<12>& nonce, ByteView aad,
                              ByteView ciphertext_and_tag);

// Cryptographically secure random bytes (OpenSSL's DRBG).
Bytes random_bytes(size_t n);
template <size_t N>
ByteArray<N> random_array() {
  auto b = random_bytes(N);
  ByteArray<N> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

}  // namespace hybrid::crypto
