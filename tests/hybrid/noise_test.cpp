// Negative and property tests of the Noise handshakes (docs/protocol.md §8, vectors §14).
#include <catch2/catch.hpp>

#include "crypto/primitives.h"
#include "hybrid/crypter.h"
#include "hybrid/noise.h"

using namespace hybrid;
using crypto::P256KeyPair;

TEST_CASE("KNpsk0: both sides agree on keys and handshake hash") {
  Bytes psk(32, 0);
  auto client = P256KeyPair::generate();
  auto init = HandshakeInitiator::for_qr(psk, client);
  REQUIRE(init.message1().size() == 81);
  auto resp = respond_qr_handshake(psk, client.public_key(), init.message1());
  REQUIRE(resp.ok());
  REQUIRE(resp->message2.size() == 81);
  auto done = init.process_message2(resp->message2);
  REQUIRE(done.ok());
  CHECK(done->handshake_hash == resp->result.handshake_hash);
  CHECK(to_bytes(done->keys.client_to_phone.view()) == to_bytes(resp->result.keys.client_to_phone.view()));
  CHECK(to_bytes(done->keys.phone_to_client.view()) == to_bytes(resp->result.keys.phone_to_client.view()));
  CHECK(to_bytes(done->keys.phone_to_client.view()) != to_bytes(done->keys.client_to_phone.view()));

  // webauthn-rs `noise`: the phone encrypts, the client decrypts once; a replay fails.
  Crypter phone(resp->result.keys, Crypter::Role::phone);
  Crypter pc(done->keys, Crypter::Role::client);
  auto ct = *phone.encrypt(as_bytes("Hello, world!"));
  CHECK(to_string(*pc.decrypt(ct)) == "Hello, world!");
  CHECK_FALSE(pc.decrypt(ct).ok());
  auto reply = *pc.encrypt(as_bytes("hi"));
  CHECK(to_string(*phone.decrypt(reply)) == "hi");
}

TEST_CASE("KNpsk0: a wrong PSK or a wrong static key fails at the responder") {
  Bytes psk(32, 0);
  auto client = P256KeyPair::generate();
  auto init = HandshakeInitiator::for_qr(psk, client);
  Bytes other_psk = psk;
  other_psk[0] ^= 1;
  auto r1 = respond_qr_handshake(other_psk, client.public_key(), init.message1());
  REQUIRE_FALSE(r1.ok());
  CHECK(r1.error().message.find("did not authenticate") != std::string::npos);
  auto stranger = P256KeyPair::generate();
  CHECK_FALSE(respond_qr_handshake(psk, stranger.public_key(), init.message1()).ok());
}

TEST_CASE("NKpsk0: a wrong PSK fails; the wrong phone key fails") {
  Bytes psk(32, 0);
  auto phone = P256KeyPair::generate();
  auto init = HandshakeInitiator::for_linked(psk, phone.public_key());
  auto ok = respond_linked_handshake(psk, phone, init.message1());
  REQUIRE(ok.ok());
  CHECK(init.process_message2(ok->message2).ok());
  Bytes other = psk;
  other[0] ^= 1;
  CHECK_FALSE(respond_linked_handshake(other, phone, init.message1()).ok());
  auto impostor = P256KeyPair::generate();
  CHECK_FALSE(respond_linked_handshake(psk, impostor, init.message1()).ok());
}

TEST_CASE("handshake messages: truncated, over-long, tampered, bad point, payload") {
  Bytes psk(32, 7);
  auto client = P256KeyPair::generate();
  auto init = HandshakeInitiator::for_qr(psk, client);
  Bytes m1 = init.message1();

  Bytes short_m1(m1.begin(), m1.end() - 1);
  CHECK(respond_qr_handshake(psk, client.public_key(), short_m1).error().message.find("81 bytes") != std::string::npos);
  Bytes long_m1 = m1;
  long_m1.push_back(0);
  CHECK_FALSE(respond_qr_handshake(psk, client.public_key(), long_m1).ok());
  Bytes tampered = m1;
  tampered.back() ^= 0x80;
  CHECK_FALSE(respond_qr_handshake(psk, client.public_key(), tampered).ok());
  Bytes bad_point = m1;
  bad_point[64] ^= 1;  // Y no longer on the curve
  CHECK(respond_qr_handshake(psk, client.public_key(), bad_point).error().message.find("point") != std::string::npos);
  Bytes compressed_prefix = m1;
  compressed_prefix[0] = 0x02;
  CHECK_FALSE(respond_qr_handshake(psk, client.public_key(), compressed_prefix).ok());

  auto resp = *respond_qr_handshake(psk, client.public_key(), m1);
  // Chromium's HandshakeErrorDevice answers "bogus".
  auto init2 = HandshakeInitiator::for_qr(psk, client, std::nullopt);
  CHECK_FALSE(init2.process_message2(as_bytes("bogus")).ok());
  Bytes m2 = resp.message2;
  m2[70] ^= 1;
  CHECK_FALSE(init.process_message2(m2).ok());
}

TEST_CASE("symmetric state: a non-empty handshake payload is refused") {
  // Build message 1 by hand with a one-byte payload; the responder must refuse it.
  Bytes psk(32, 1);
  auto client = P256KeyPair::generate();
  auto e = P256KeyPair::generate();
  SymmetricState s("Noise_KNpsk0_P256_AESGCM_SHA256");
  const uint8_t prologue = 1;
  s.mix_hash(ByteView(&prologue, 1));
  s.mix_hash(client.public_key().uncompressed());
  s.mix_key_and_hash(psk);
  s.mix_hash(e.public_key().uncompressed());
  s.mix_key(e.public_key().uncompressed());
  auto c = s.encrypt_and_hash(Bytes{0x42});
  Bytes m1 = concat(e.public_key().uncompressed(), c);  // 82 bytes
  CHECK_FALSE(respond_qr_handshake(psk, client.public_key(), m1).ok());
}
