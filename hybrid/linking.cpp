#include "hybrid/linking.h"

#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "hybrid/constants.h"
#include "hybrid/framing.h"

namespace hybrid {

cbor::Map encode_linking_map(const LinkingInfo& info) {
  cbor::Map m;
  m.set(1, info.contact_id);
  m.set(2, info.link_id);
  m.set(3, to_bytes(info.link_secret.view()));
  if (info.authenticator_public_key) m.set(4, info.authenticator_public_key->uncompressed());
  m.set(5, info.name);
  m.set(6, info.signature);
  if (info.play_services_tag) m.set(999, true);
  return m;
}

Result<LinkingInfo> parse_linking_map(const cbor::Value& value) {
  if (!value.is_map()) return make_error("linking information is not a CBOR map");
  const auto& m = value.as_map();
  auto bytes_at = [&](int key, const char* name) -> Result<Bytes> {
    const auto* v = m.find(key);
    if (!v) return make_error(std::string("linking information lacks the ") + name + " (key " + std::to_string(key) + ")");
    if (!v->is_bytes()) return make_error(std::string("linking information's ") + name + " is not a byte string");
    return v->as_bytes();
  };
  LinkingInfo info;
  HYBRID_TRY(info.contact_id, bytes_at(1, "contact ID"));
  HYBRID_TRY(info.link_id, bytes_at(2, "link ID"));
  HYBRID_TRY(auto secret, bytes_at(3, "link secret"));
  info.link_secret = SecretBytes(std::move(secret));
  HYBRID_TRY(auto pub, bytes_at(4, "authenticator public key"));
  if (pub.size() != kP256UncompressedSize) {
    return make_error("linking information's public key must be 65 bytes, got " + std::to_string(pub.size()));
  }
  auto key = crypto::P256PublicKey::parse(pub);
  if (!key) return make_error("linking information's public key is not a valid P-256 point");
  info.authenticator_public_key = std::move(key).value();
  const auto* name = m.find(5);
  if (!name || !name->is_text()) return make_error("linking information's name (key 5) is missing or not text");
  info.name = name->as_text();
  HYBRID_TRY(auto sig, bytes_at(6, "handshake signature"));
  HYBRID_TRY(info.signature, to_array<32>(sig, "linking information's handshake signature"));
  if (const auto* tag = m.find(999); tag && tag->is_bool()) info.play_services_tag = tag->as_bool();
  return info;
}

ByteArray<32> linking_signature(const crypto::P256KeyPair& own, const crypto::P256PublicKey& peer,
                                const HandshakeHash& handshake_hash) {
  auto shared = own.ecdh(peer);
  auto sig = crypto::hmac_sha256(shared, handshake_hash);
  secure_wipe(shared.data(), shared.size());
  return sig;
}

bool verify_linking_signature(const LinkingInfo& info, const crypto::P256KeyPair& client_identity,
                              const HandshakeHash& handshake_hash) {
  if (!info.authenticator_public_key) return false;
  auto expected = linking_signature(client_identity, *info.authenticator_public_key, handshake_hash);
  return constant_time_equal(expected, info.signature);
}

Bytes encode_update_message(const std::optional<LinkingInfo>& info) {
  auto build = [&](size_t zeros) {
    cbor::Map m;
    m.set(0, Bytes(zeros, 0));
    if (info) m.set(1, encode_linking_map(*info));
    return encode_frame(MessageType::update, cbor::encode(cbor::Value(m)));
  };
  size_t base = build(0).size();
  if (base > kUpdatePlaintextMax) return build(0);  // too large to hide; send as is
  size_t zeros = kUpdatePlaintextMax - base;
  // The byte string's length header grows with its length; shrink until it fits.
  Bytes out = build(zeros);
  while (out.size() > kUpdatePlaintextMax && zeros > 0) out = build(--zeros);
  return out;
}

Result<std::optional<cbor::Value>> parse_update_payload(ByteView payload) {
  auto v = cbor::decode(payload);
  if (!v) return v.error().with_context("the phone's Update message is not valid CBOR");
  if (!v->is_map()) return make_error("the phone's Update message is not a CBOR map");
  const auto* l = v->as_map().find(1);
  if (!l) return std::optional<cbor::Value>();
  if (!l->is_map()) return make_error("the phone's Update message has linking information that is not a map");
  return std::optional<cbor::Value>(*l);
}

}  // namespace hybrid
