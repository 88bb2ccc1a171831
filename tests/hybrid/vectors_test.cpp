// Data-driven known-answer tests: every case in tests/vectors/<folder>/*.json.
#include <catch2/catch.hpp>

#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "hybrid/advert.h"
#include "hybrid/client_payload.h"
#include "hybrid/crypter.h"
#include "hybrid/derive.h"
#include "hybrid/domains.h"
#include "hybrid/framing.h"
#include "hybrid/linking.h"
#include "hybrid/noise.h"
#include "hybrid/padding.h"
#include "hybrid/post_handshake.h"
#include "tests/support/vector_files.h"

using namespace hybrid;
using namespace hybrid::testing;
using crypto::P256KeyPair;

TEST_CASE("vectors: hkdf Derive") {
  for (const auto& c : load_vectors("hkdf", "hkdf")) {
    INFO(c.file << " / " << c.name);
    auto out = derive(hex_field(c.data, "secret"), hex_field(c.data, "salt"),
                      static_cast<DerivedValue>(c.data.at("purpose").get<int>()),
                      c.data.at("length").get<size_t>());
    if (c.data.value("valid", true)) {
      CHECK(out == hex_field(c.data, "output"));
    } else {
      CHECK(out != hex_field(c.data, "output"));
    }
  }
}

TEST_CASE("vectors: tunnel-server domains") {
  for (const auto& c : load_vectors("domains", "domain")) {
    INFO(c.file << " / " << c.name << " value " << c.data.at("value"));
    auto value = c.data.at("value").get<uint16_t>();
    auto got = tunnel_domain(value);
    if (c.data.at("domain").is_null()) {
      CHECK_FALSE(got.has_value());
      CHECK_FALSE(is_known_domain_id(value));
    } else {
      REQUIRE(got.has_value());
      CHECK(*got == c.data.at("domain").get<std::string>());
      CHECK(is_known_domain_id(value));
    }
  }
}

static SecretBytes eid_key_of(const nlohmann::json& c) {
  if (c.contains("eid_key")) return SecretBytes(hex_field(c, "eid_key"));
  return derive_eid_key(hex_field(c, "secret"));
}

TEST_CASE("vectors: advert trial decryption and layout") {
  for (const auto& c : load_vectors("adverts", "advert")) {
    INFO(c.file << " / " << c.name);
    auto key = eid_key_of(c.data);
    if (c.data.contains("eid_key") && c.data.contains("secret")) {
      CHECK(to_bytes(derive_eid_key(hex_field(c.data, "secret")).view()) == hex_field(c.data, "eid_key"));
    }
    auto advert = hex_field(c.data, "advert");
    auto got = trial_decrypt_advert(key, advert, c.data.value("allow_suffix", false));
    if (c.data.at("plaintext").is_null()) {
      CHECK_FALSE(got.has_value());
      continue;
    }
    REQUIRE(got.has_value());
    auto expected = hex_field(c.data, "plaintext");
    CHECK(Bytes(got->begin(), got->end()) == expected);
    if (advert.size() == kAdvertSize) {
      // Encryption is deterministic: re-encrypting gives the same advert.
      auto again = encrypt_advert(key, *got);
      CHECK(Bytes(again.begin(), again.end()) == advert);
    }
    if (c.data.contains("routing_id") && !c.data.value("linked", false)) {
      auto contents = AdvertContents::parse(*got);
      REQUIRE(contents.ok());
      CHECK(contents->routing_id.hex() == c.data.at("routing_id").get<std::string>());
      CHECK(contents->domain_id == c.data.at("domain").get<uint16_t>());
      if (c.data.contains("nonce")) CHECK(contents->nonce.hex() == c.data.at("nonce").get<std::string>());
    }
    if (c.data.contains("psk")) {
      Bytes secret = c.data.contains("psk_secret") ? hex_field(c.data, "psk_secret") : hex_field(c.data, "secret");
      CHECK(to_bytes(derive_psk(secret, *got).view()) == hex_field(c.data, "psk"));
    }
    if (c.data.contains("tunnel_id")) {
      auto secret = *to_array<16>(hex_field(c.data, "secret"), "secret");
      auto tid = derive_tunnel_id(secret);
      CHECK(tid.hex_upper() == c.data.at("tunnel_id").get<std::string>());
      auto contents = *AdvertContents::parse(*got);
      auto domain = tunnel_domain(contents.domain_id);
      REQUIRE(domain.has_value());
      auto base = TunnelBase::for_domain(*domain);
      CHECK(new_tunnel_url(base, tid) == c.data.at("new_url").get<std::string>());
      CHECK(connect_url(base, contents.routing_id, tid) == c.data.at("connect_url").get<std::string>());
    }
  }
}

TEST_CASE("vectors: advert plaintext layout") {
  for (const auto& c : load_vectors("adverts", "advert_plaintext")) {
    INFO(c.file << " / " << c.name);
    auto parsed = AdvertContents::parse(hex_field(c.data, "plaintext"));
    if (!c.data.at("valid").get<bool>()) {
      CHECK_FALSE(parsed.ok());
      continue;
    }
    REQUIRE(parsed.ok());
    CHECK(parsed->nonce.hex() == c.data.at("nonce").get<std::string>());
    CHECK(parsed->routing_id.hex() == c.data.at("routing_id").get<std::string>());
    CHECK(parsed->domain_id == c.data.at("domain").get<uint16_t>());
    auto back = parsed->to_plaintext();
    CHECK(Bytes(back.begin(), back.end()) == hex_field(c.data, "plaintext"));
  }
}

TEST_CASE("vectors: transport crypter") {
  for (const auto& c : load_vectors("crypter", "crypter")) {
    INFO(c.file << " / " << c.name);
    auto key = hex_field(c.data, "key");
    auto plaintext = hex_field(c.data, "plaintext");
    CHECK(pad_message(plaintext) == hex_field(c.data, "padded"));
    // Sender: a crypter whose write key is `key`, at the given counter.
    Crypter sender(Bytes(32, 0), key);
    Crypter receiver(key, Bytes(32, 0));
    uint32_t counter = c.data.at("counter").get<uint32_t>();
    sender.set_counters_for_testing(0, counter);
    receiver.set_counters_for_testing(counter, 0);
    auto ct = sender.encrypt(plaintext);
    REQUIRE(ct.ok());
    CHECK(*ct == hex_field(c.data, "ciphertext"));
    auto pt = receiver.decrypt(hex_field(c.data, "ciphertext"));
    REQUIRE(pt.ok());
    CHECK(*pt == plaintext);
  }
}

TEST_CASE("vectors: padding edge cases") {
  for (const auto& c : load_vectors("crypter", "padding")) {
    INFO(c.file << " / " << c.name);
    auto r = unpad_message(hex_field(c.data, "padded"));
    if (c.data.at("valid").get<bool>()) {
      REQUIRE(r.ok());
      CHECK(*r == hex_field(c.data, "message"));
    } else {
      CHECK_FALSE(r.ok());
    }
  }
}

TEST_CASE("vectors: revision-0 padded post-handshake map") {
  for (const auto& c : load_vectors("padded-map", "padded_map")) {
    INFO(c.file << " / " << c.name);
    auto encoded = hex_field(c.data, "encoded");
    if (c.data.at("format") == "16bit") CHECK(pad_post_handshake_map(hex_field(c.data, "map_cbor")) == encoded);
    auto parsed = parse_post_handshake(encoded);
    // An empty map has no getInfo, so as a CTAP phone's message it is refused; the
    // unpadding itself must still find the map.
    auto unpadded = unpad_post_handshake_map16(encoded);
    REQUIRE(unpadded.has_value());
    CHECK(*unpadded == hex_field(c.data, "map_cbor"));
  }
}

TEST_CASE("vectors: Noise handshakes") {
  for (const auto& c : load_vectors("handshakes", "noise")) {
    INFO(c.file << " / " << c.name);
    auto psk = hex_field(c.data, "psk");
    auto ie = *P256KeyPair::from_private_scalar(hex_field(c.data, "initiator_ephemeral"));
    auto re = *P256KeyPair::from_private_scalar(hex_field(c.data, "responder_ephemeral"));
    std::optional<HandshakeInitiator> init;
    Result<ResponderOutput> resp = make_error("unset");
    if (c.data.at("flow") == "linked") {
      auto phone = *P256KeyPair::from_private_scalar(hex_field(c.data, "responder_static"));
      CHECK(hex_encode(phone.public_key().uncompressed()) == c.data.at("responder_static_public").get<std::string>());
      init.emplace(HandshakeInitiator::for_linked(psk, phone.public_key(), ie));
      CHECK(init->message1() == hex_field(c.data, "message1"));
      resp = respond_linked_handshake(psk, phone, hex_field(c.data, "message1"), re);
    } else {
      auto client = *P256KeyPair::from_private_scalar(hex_field(c.data, "initiator_static"));
      init.emplace(HandshakeInitiator::for_qr(psk, client, ie));
      CHECK(init->message1() == hex_field(c.data, "message1"));
      resp = respond_qr_handshake(psk, client.public_key(), hex_field(c.data, "message1"), re);
    }
    REQUIRE(resp.ok());
    CHECK(resp->message2 == hex_field(c.data, "message2"));
    auto done = init->process_message2(hex_field(c.data, "message2"));
    REQUIRE(done.ok());
    CHECK(hex_encode(done->handshake_hash) == c.data.at("handshake_hash").get<std::string>());
    CHECK(hex_encode(resp->result.handshake_hash) == c.data.at("handshake_hash").get<std::string>());
    CHECK(to_bytes(done->keys.client_to_phone.view()) == hex_field(c.data, "k1"));
    CHECK(to_bytes(done->keys.phone_to_client.view()) == hex_field(c.data, "k2"));
  }
}

TEST_CASE("vectors: linking signature") {
  for (const auto& c : load_vectors("linking", "linking_signature")) {
    INFO(c.file << " / " << c.name);
    auto client = *P256KeyPair::from_private_scalar(hex_field(c.data, "client_private"));
    auto phone = *P256KeyPair::from_private_scalar(hex_field(c.data, "phone_private"));
    auto hash = *to_array<32>(hex_field(c.data, "handshake_hash"), "hash");
    auto shared = client.ecdh(phone.public_key());
    CHECK(Bytes(shared.begin(), shared.end()) == hex_field(c.data, "ecdh"));
    auto sig = linking_signature(phone, client.public_key(), hash);
    CHECK(Bytes(sig.begin(), sig.end()) == hex_field(c.data, "signature"));
    LinkingInfo info;
    info.authenticator_public_key = phone.public_key();
    info.signature = sig;
    CHECK(verify_linking_signature(info, client, hash));
    info.signature[0] ^= 1;
    CHECK_FALSE(verify_linking_signature(info, client, hash));
  }
}

TEST_CASE("vectors: contact request client payload") {
  for (const auto& c : load_vectors("contact", "client_payload")) {
    INFO(c.file << " / " << c.name);
    ClientPayload p;
    p.link_id = hex_field(c.data, "link_id");
    p.client_nonce = *ClientNonce::from(hex_field(c.data, "client_nonce"), "nonce");
    p.request_hint = c.data.at("request_type").get<std::string>();
    CHECK(p.encode() == hex_field(c.data, "cbor"));
    CHECK(p.header_value() == c.data.at("header").get<std::string>());
    auto back = ClientPayload::parse_header(c.data.at("header").get<std::string>());
    REQUIRE(back.ok());
    CHECK(back->link_id == p.link_id);
    CHECK(back->client_nonce == p.client_nonce);
    auto url = contact_url(TunnelBase{""}, hex_field(c.data, "contact_id"));
    CHECK(url == c.data.at("path").get<std::string>());
  }
}

TEST_CASE("vectors: frames") {
  for (const auto& c : load_vectors("frames", "frame")) {
    INFO(c.file << " / " << c.name);
    auto f = parse_frame(hex_field(c.data, "bytes"));
    if (!c.data.at("valid").get<bool>()) {
      CHECK_FALSE(f.ok());
      continue;
    }
    REQUIRE(f.ok());
    CHECK(static_cast<int>(f->type) == c.data.at("type").get<int>());
    if (c.data.contains("payload")) CHECK(f->payload == hex_field(c.data, "payload"));
    CHECK(encode_frame(f->type, f->payload) == hex_field(c.data, "bytes"));
  }
}

TEST_CASE("vectors: post-handshake messages") {
  for (const auto& c : load_vectors("post-handshake", "post_handshake")) {
    INFO(c.file << " / " << c.name);
    std::vector<std::string> features = c.data.at("features").get<std::vector<std::string>>();
    auto encoded = encode_post_handshake(hex_field(c.data, "get_info"), features);
    CHECK(encoded == hex_field(c.data, "cbor"));
    auto parsed = parse_post_handshake(encoded);
    REQUIRE(parsed.ok());
    CHECK(parsed->revision == 1);
    CHECK(parsed->features == features);
    CHECK(parsed->get_info == hex_field(c.data, "get_info"));
  }
}
