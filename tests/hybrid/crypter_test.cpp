// Crypter properties (spec vectors §7 C2/C3): every length, tampering, replay, reorder,
// counter limits and the 2021 construction.
#include <catch2/catch.hpp>

#include "crypto/primitives.h"
#include "hybrid/crypter.h"
#include "hybrid/padding.h"

using namespace hybrid;

TEST_CASE("padding: every length is a multiple of 32 and round-trips") {
  for (size_t len = 0; len < 100; ++len) {
    Bytes m(len, 0xab);
    auto p = pad_message(m);
    CHECK(p.size() % 32 == 0);
    CHECK(p.size() > len);
    CHECK(*unpad_message(p) == m);
  }
}

TEST_CASE("C2: every message length 0..529 round-trips; a flipped bit fails without advancing") {
  Crypter a(Bytes(32, 1), Bytes(32, 2));
  Crypter b(Bytes(32, 2), Bytes(32, 1));
  for (size_t i = 0; i < 530; ++i) {
    Bytes msg(i);
    for (size_t j = 0; j < i; ++j) msg[j] = static_cast<uint8_t>(j);
    auto ct = a.encrypt(msg);
    REQUIRE(ct.ok());
    Bytes bad = *ct;
    bad[(13 * i) % bad.size()] ^= 1;
    CHECK_FALSE(b.decrypt(bad).ok());
    auto pt = b.decrypt(*ct);
    REQUIRE(pt.ok());
    CHECK(*pt == msg);
  }
  CHECK(a.write_counter() == 530);
  CHECK(b.read_counter() == 530);
}

TEST_CASE("replayed and reordered messages fail; in-order ones after them still work") {
  Crypter a(Bytes(32, 1), Bytes(32, 2));
  Crypter b(Bytes(32, 2), Bytes(32, 1));
  auto m0 = *a.encrypt(as_bytes("zero"));
  auto m1 = *a.encrypt(as_bytes("one"));
  auto m2 = *a.encrypt(as_bytes("two"));
  CHECK_FALSE(b.decrypt(m1).ok());  // reordered
  CHECK(to_string(*b.decrypt(m0)) == "zero");
  CHECK_FALSE(b.decrypt(m0).ok());  // replayed
  CHECK(to_string(*b.decrypt(m1)) == "one");
  CHECK(to_string(*b.decrypt(m2)) == "two");
}

TEST_CASE("a message decrypting to bad padding is refused") {
  Crypter b(Bytes(32, 2), Bytes(32, 1));
  // Encrypt, by hand, a plaintext whose padding byte claims more than the message.
  ByteArray<12> nonce{};
  auto ct = crypto::aes256_gcm_seal(Bytes(32, 2), nonce, {}, Bytes{0x05});
  auto r = b.decrypt(ct);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().is(CrypterError::bad_padding));
  auto empty = crypto::aes256_gcm_seal(Bytes(32, 2), nonce, {}, {});
  CHECK_FALSE(b.decrypt(empty).ok());
}

TEST_CASE("counters stop at 2^24 - 1") {
  Crypter a(Bytes(32, 1), Bytes(32, 2));
  a.set_counters_for_testing(0, (1u << 24) - 1);
  CHECK(a.encrypt(as_bytes("last")).ok());
  auto r = a.encrypt(as_bytes("one too many"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().is(CrypterError::exhausted));
}

TEST_CASE("old (2021) construction accepted on the first inbound message only when enabled") {
  // Old construction: AD = 0x02, counter little-endian in the first bytes (zero here).
  ByteArray<12> nonce{};
  const uint8_t ad = 0x02;
  auto old_ct = crypto::aes256_gcm_seal(Bytes(32, 2), nonce, ByteView(&ad, 1), pad_message(as_bytes("old")));
  Crypter strict(Bytes(32, 2), Bytes(32, 1));
  CHECK_FALSE(strict.decrypt(old_ct).ok());
  Crypter lenient(Bytes(32, 2), Bytes(32, 1));
  lenient.accept_old_construction_on_first_message(true);
  CHECK(to_string(*lenient.decrypt(old_ct)) == "old");
  CHECK(lenient.uses_old_construction());
  // Its replies use the old construction too; message 1 has counter 1 in byte 0.
  ByteArray<12> n1{};
  n1[0] = 1;
  auto second = crypto::aes256_gcm_seal(Bytes(32, 2), n1, ByteView(&ad, 1), pad_message(as_bytes("again")));
  CHECK(to_string(*lenient.decrypt(second)) == "again");
}
