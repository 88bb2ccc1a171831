// Linking map, signatures and the Update message (docs/protocol.md §9.6, §10; vectors §11).
#include <catch2/catch.hpp>

#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "hybrid/crypter.h"
#include "hybrid/framing.h"
#include "hybrid/linking.h"
#include "hybrid/post_handshake.h"

using namespace hybrid;
using crypto::P256KeyPair;

static LinkingInfo sample(const P256KeyPair& phone, const P256KeyPair& client, const HandshakeHash& hash) {
  LinkingInfo info;
  info.contact_id = Bytes{1, 2, 3, 4};
  info.link_id = Bytes{5, 6, 7, 8, 0, 0, 0, 0};
  info.link_secret = SecretBytes(Bytes(32, 9));
  info.authenticator_public_key = phone.public_key();
  info.name = "Device name";
  info.signature = linking_signature(phone, client.public_key(), hash);
  return info;
}

TEST_CASE("linking map round-trips and verifies; tampering fails (HandshakeSignatures)") {
  auto phone = P256KeyPair::generate();
  auto client = P256KeyPair::generate();
  HandshakeHash hash{};
  hash[0] = 1;
  auto info = sample(phone, client, hash);
  auto parsed = parse_linking_map(cbor::Value(encode_linking_map(info)));
  REQUIRE(parsed.ok());
  CHECK(parsed->contact_id == info.contact_id);
  CHECK(parsed->name == "Device name");
  CHECK(verify_linking_signature(*parsed, client, hash));
  HandshakeHash other = hash;
  other[0] ^= 1;
  CHECK_FALSE(verify_linking_signature(*parsed, client, other));
  parsed->signature[0] ^= 1;
  CHECK_FALSE(verify_linking_signature(*parsed, client, hash));
}

TEST_CASE("ParseInvalidLinkingInformation cases are rejected") {
  CHECK_FALSE(parse_linking_map(cbor::Value(1)).ok());
  CHECK_FALSE(parse_linking_map(cbor::Value("foo")).ok());
  CHECK_FALSE(parse_linking_map(cbor::Value(cbor::Map{{1, Bytes(32, 0)}})).ok());
  cbor::Map all32;
  for (int k = 1; k <= 6; ++k) all32.set(k, Bytes(32, 0));
  CHECK_FALSE(parse_linking_map(cbor::Value(all32)).ok());  // key 5 not text, key 4 wrong length
  Bytes off_curve(65, 0);
  off_curve[0] = 0x04;
  off_curve[1] = 0x09;
  off_curve[2] = 0x0a;
  cbor::Map m{{1, Bytes(32, 0)}, {2, Bytes(32, 0)}, {3, Bytes(32, 0)}, {4, off_curve}, {5, "test"}, {6, Bytes(32, 0)}};
  auto r = parse_linking_map(cbor::Value(m));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("P-256") != std::string::npos);
  // A valid key but a wrong signature parses and then fails verification.
  auto phone = P256KeyPair::generate();
  auto client = P256KeyPair::generate();
  m.set(4, phone.public_key().uncompressed());
  auto ok = parse_linking_map(cbor::Value(m));
  REQUIRE(ok.ok());
  CHECK_FALSE(verify_linking_signature(*ok, client, HandshakeHash{}));
}

TEST_CASE("Update messages always encrypt to 528 bytes, with or without linking") {
  auto phone = P256KeyPair::generate();
  auto client = P256KeyPair::generate();
  Crypter c(Bytes(32, 1), Bytes(32, 2));
  auto without = encode_update_message(std::nullopt);
  auto with = encode_update_message(sample(phone, client, HandshakeHash{}));
  CHECK(without.size() <= 511);
  CHECK(with.size() <= 511);
  CHECK(c.encrypt(without)->size() == 528);
  CHECK(c.encrypt(with)->size() == 528);
  auto f = parse_frame(with);
  REQUIRE(f.ok());
  CHECK(f->type == MessageType::update);
  auto payload = parse_update_payload(f->payload);
  REQUIRE(payload.ok());
  REQUIRE(payload->has_value());
  CHECK(parse_linking_map(**payload).ok());
  auto empty = parse_update_payload(parse_frame(without)->payload);
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->has_value());
  CHECK_FALSE(parse_update_payload(Bytes{0x01}).ok());                 // not a map
  CHECK_FALSE(parse_update_payload(cbor::encode(cbor::Value(cbor::Map{{1, 5}}))).ok());  // key 1 not a map
}

TEST_CASE("post-handshake: features, getInfo rules, revision 0") {
  Bytes info = cbor::encode(cbor::Value(cbor::Map{{1, cbor::Array{"FIDO_2_0"}}}));
  auto rev1 = parse_post_handshake(encode_post_handshake(info, {"ctap", "dc"}));
  REQUIRE(rev1.ok());
  CHECK(rev1->supports_ctap());
  // No key 3: the client assumes ["ctap"].
  auto nokey3 = parse_post_handshake(cbor::encode(cbor::Value(cbor::Map{{1, info}})));
  REQUIRE(nokey3.ok());
  CHECK(nokey3->features == std::vector<std::string>{"ctap"});
  // CTAP without getInfo, getInfo without CTAP, key 3 not an array, not a map: refused.
  CHECK_FALSE(parse_post_handshake(cbor::encode(cbor::Value(cbor::Map{{3, cbor::Array{"ctap"}}}))).ok());
  CHECK_FALSE(parse_post_handshake(cbor::encode(cbor::Value(cbor::Map{{1, info}, {3, cbor::Array{"dc"}}}))).ok());
  CHECK_FALSE(parse_post_handshake(cbor::encode(cbor::Value(cbor::Map{{1, info}, {3, "ctap"}}))).ok());
  CHECK_FALSE(parse_post_handshake(cbor::encode(cbor::Value(cbor::Array{}))).ok());
  // Non-string features are ignored.
  auto mixed = parse_post_handshake(cbor::encode(cbor::Value(cbor::Map{{1, info}, {3, cbor::Array{1, "ctap"}}})));
  REQUIRE(mixed.ok());
  CHECK(mixed->features == std::vector<std::string>{"ctap"});
  // Revision 0 with the 16-bit padding, and a 1024-byte one (§6: {1: 512 zero bytes}).
  auto rev0 = parse_post_handshake(encode_post_handshake_rev0(info, std::nullopt));
  REQUIRE(rev0.ok());
  CHECK(rev0->revision == 0);
  CHECK(rev0->get_info == info);
  auto big = encode_post_handshake_rev0(Bytes(512, 0), std::nullopt);
  CHECK(big.size() == 1024);
}

TEST_CASE("revision 0: every old 8-bit padded map {1: i zero bytes} decodes (vectors §6)") {
  for (size_t i = 0; i < 512; ++i) {
    Bytes cbor = cbor::encode(cbor::Value(cbor::Map{{1, Bytes(i, 0)}}));
    size_t total = (cbor.size() + 1 + 255) / 256 * 256;
    Bytes padded = cbor;
    padded.resize(total - 1, 0);
    padded.push_back(static_cast<uint8_t>(total - 1 - cbor.size()));
    auto r = parse_post_handshake(padded);
    INFO("i = " << i);
    REQUIRE(r.ok());
    CHECK(r->get_info->size() == i);
  }
}
