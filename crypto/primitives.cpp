#include "crypto/primitives.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace hybrid::crypto {
namespace {

// Failures here mean OpenSSL itself is broken (allocation, missing provider): not input
// errors, so they throw rather than return.
[[noreturn]] void fatal(const char* what) {
  throw std::runtime_error(std::string("OpenSSL failure in ") + what);
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

CipherCtx new_cipher_ctx() {
  CipherCtx c(EVP_CIPHER_CTX_new());
  if (!c) fatal("EVP_CIPHER_CTX_new");
  return c;
}

ByteArray<16> aes_block(ByteView key, const ByteArray<16>& in, bool encrypt) {
  if (key.size() != 32) throw std::invalid_argument("AES-256 key must be 32 bytes");
  auto ctx = new_cipher_ctx();
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1)
    fatal("EVP_CipherInit_ex(aes-256-ecb)");
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  ByteArray<16> out{};
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &len, in.data(), 16) != 1 || len != 16)
    fatal("EVP_CipherUpdate(aes-256-ecb)");
  return out;
}

}  // namespace

Sha256Digest sha256(ByteView data) {
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1)
    fatal("EVP_Digest(sha256)");
  return out;
}

Sha256Digest hmac_sha256(ByteView key, ByteView data) {
  Sha256Digest out{};
  size_t len = 0;
  static const uint8_t kEmpty = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.empty() ? &kEmpty : key.data(),
                 key.size(), data.data(), data.size(), out.data(), out.size(), &len))
    fatal("EVP_Q_mac(HMAC-SHA256)");
  return out;
}

Bytes hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (!kdf) fatal("EVP_KDF_fetch(HKDF)");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!ctx) fatal("EVP_KDF_CTX_new");
  // OpenSSL rejects a zero-length salt; HKDF defines an absent salt as HashLen zeros.
  static const uint8_t kZeroSalt[32] = {};
  static const uint8_t kEmpty = 0;
  OSSL_PARAM params[5];
  int i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.empty() ? &kEmpty : ikm.data()), ikm.size());
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.empty() ? kZeroSalt : salt.data()),
      salt.empty() ? sizeof kZeroSalt : salt.size());
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.empty() ? &kEmpty : info.data()), info.size());
  params[i] = OSSL_PARAM_construct_end();
  Bytes out(length);
  int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) fatal("EVP_KDF_derive(HKDF)");
  return out;
}

ByteArray<16> aes256_encrypt_block(ByteView key, const ByteArray<16>& block) {
  return aes_block(key, block, true);
}
ByteArray<16> aes256_decrypt_block(ByteView key, const ByteArray<16>& block) {
  return aes_block(key, block, false);
}

Bytes aes256_gcm_seal(ByteView key, const ByteArray<12>& nonce, ByteView aad, ByteView plaintext) {
  if (key.size() != 32) throw std::invalid_argument("AES-256-GCM key must be 32 bytes");
  auto ctx = new_cipher_ctx();
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1)
    fatal("EVP_EncryptInit_ex(aes-256-gcm)");
  int len = 0;
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), int(aad.size())) != 1)
    fatal("EVP_EncryptUpdate(aad)");
  Bytes out(plaintext.size() + 16);
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(), int(plaintext.size())) != 1)
    fatal("EVP_EncryptUpdate");
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &len) != 1)
    fatal("EVP_EncryptFinal_ex");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, out.data() + plaintext.size()) != 1)
    fatal("EVP_CTRL_GCM_GET_TAG");
  return out;
}

Result<Bytes> aes256_gcm_open(ByteView key, const ByteArray<12>& nonce, ByteView aad,
                              ByteView ct) {
  if (key.size() != 32) throw std::invalid_argument("AES-256-GCM key must be 32 bytes");
  if (ct.size() < 16) return make_error("ciphertext is shorter than the 16-byte GCM tag");
  auto ctx = new_cipher_ctx();
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1)
    fatal("EVP_DecryptInit_ex(aes-256-gcm)");
  int len = 0;
  if (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), int(aad.size())) != 1)
    fatal("EVP_DecryptUpdate(aad)");
  size_t body = ct.size() - 16;
  Bytes out(body);
  if (body > 0 && EVP_DecryptUpdate(ctx.get(), out.data(), &len, ct.data(), int(body)) != 1)
    fatal("EVP_DecryptUpdate");
  Bytes tag(ct.begin() + body, ct.end());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1)
    fatal("EVP_CTRL_GCM_SET_TAG");
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + body, &len) != 1) {
    secure_wipe(out.data(), out.size());
    return make_error("AES-GCM tag did not authenticate (wrong key, wrong nonce or tampered data)");
  }
  return out;
}

Bytes random_bytes(size_t n) {
  Bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), int(n)) != 1) fatal("RAND_bytes");
  return out;
}

}  // namespace hybrid::crypto
