#include <catch2/catch.hpp>

#include "crypto/p256.h"
#include "crypto/primitives.h"

using namespace hybrid;
using namespace hybrid::crypto;

static Bytes H(const char* s) { return *hex_decode(s); }

TEST_CASE("sha256 and hmac known answers") {
  CHECK(hex_encode(sha256(as_bytes("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  CHECK(hex_encode(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("hkdf matches RFC 5869 case 1 and treats an empty salt as zeros") {
  auto okm = hkdf_sha256(H("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), H("000102030405060708090a0b0c"),
                         H("f0f1f2f3f4f5f6f7f8f9"), 42);
  CHECK(hex_encode(okm) ==
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  Bytes zeros(32, 0);
  CHECK(hkdf_sha256(H("01"), {}, H("02"), 16) == hkdf_sha256(H("01"), zeros, H("02"), 16));
}

TEST_CASE("aes-256-gcm seals, opens and rejects tampering") {
  Bytes key(32, 7);
  ByteArray<12> nonce{};
  auto ct = aes256_gcm_seal(key, nonce, {}, as_bytes("hello"));
  CHECK(ct.size() == 5 + 16);
  CHECK(to_string(*aes256_gcm_open(key, nonce, {}, ct)) == "hello");
  ct[0] ^= 1;
  CHECK_FALSE(aes256_gcm_open(key, nonce, {}, ct).ok());
  CHECK_FALSE(aes256_gcm_open(key, nonce, {}, Bytes(15)).ok());
  auto empty = aes256_gcm_seal(key, nonce, as_bytes("ad"), {});
  CHECK(empty.size() == 16);
  CHECK(aes256_gcm_open(key, nonce, as_bytes("ad"), empty)->empty());
  CHECK_FALSE(aes256_gcm_open(key, nonce, as_bytes("AD"), empty).ok());
}

TEST_CASE("aes-256 single block round-trips (FIPS-197 C.3)") {
  auto key = H("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  auto pt = *to_array<16>(H("00112233445566778899aabbccddeeff"), "block");
  auto ct = aes256_encrypt_block(key, pt);
  CHECK(hex_encode(ct) == "8ea2b7ca516745bfeafc49904b496089");
  CHECK(aes256_decrypt_block(key, ct) == pt);
}

TEST_CASE("p256 points: compressed/uncompressed, validation") {
  // spec/vectors.md §5: compressed and uncompressed forms of the same point.
  auto c = H("03364c15eec34331d2865757421d497e569e1eba6cff9a69d32e90f19e7f6fd15e");
  auto u = H("04364c15eec34331d2865757421d497e569e1eba6cff9a69d32e90f19e7f6fd15e62a369549e704bffe8585a3b4b1e4d19eac60c76fd53243f07c8014c69009ce1");
  auto k = P256PublicKey::parse(c);
  REQUIRE(k.ok());
  CHECK(Bytes(k->uncompressed().begin(), k->uncompressed().end()) == u);
  auto comp = k->compressed();
  CHECK(Bytes(comp.begin(), comp.end()) == c);
  auto bad = c;
  bad.back() ^= 3;
  CHECK_FALSE(P256PublicKey::parse(bad).ok());
  CHECK_FALSE(P256PublicKey::parse(Bytes(65, 0)).ok());
  CHECK_FALSE(P256PublicKey::parse(Bytes(32, 1)).ok());
}

TEST_CASE("p256 key from scalar, ECDH agreement, ES256 sign/verify") {
  // spec/vectors.md §12: phone identity scalar 32 x 0x11.
  auto phone = P256KeyPair::from_private_scalar(Bytes(32, 0x11));
  REQUIRE(phone.ok());
  CHECK(hex_encode(phone->public_key().uncompressed()) ==
        "040217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed194a7debcb97712d2dda3ca85aa8765a56f45fc758599652f2897c65306e5794");
  auto scalar = phone->private_scalar();
  CHECK(to_bytes(scalar.view()) == Bytes(32, 0x11));
  // Linking signature ECDH from §12.
  auto client = P256KeyPair::from_private_scalar(H("b85bd584301fd9d938307a0a7d63608ce6272671052023c2e85dad1efc90707f"));
  REQUIRE(client.ok());
  CHECK(hex_encode(client->ecdh(phone->public_key())) ==
        "5afe0565a5b814947bf0061fce439c1a84b474187e2e0707719ca8031a59c2ad");
  CHECK(client->ecdh(phone->public_key()) == phone->ecdh(client->public_key()));

  auto g = P256KeyPair::generate();
  auto sig = g.sign_es256(as_bytes("message"));
  CHECK(g.public_key().verify_es256(as_bytes("message"), sig));
  CHECK_FALSE(g.public_key().verify_es256(as_bytes("massage"), sig));
  CHECK_FALSE(phone->public_key().verify_es256(as_bytes("message"), sig));

  CHECK_FALSE(P256KeyPair::from_private_scalar(Bytes(32, 0)).ok());
  CHECK_FALSE(P256KeyPair::from_private_scalar(Bytes(32, 0xff)).ok());
  CHECK_FALSE(P256KeyPair::from_private_scalar(Bytes(31, 1)).ok());
}
