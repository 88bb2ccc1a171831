#include "hybrid/noise.h"

#include "crypto/primitives.h"
#include "hybrid/constants.h"

namespace hybrid {

using crypto::P256KeyPair;
using crypto::P256PublicKey;

SymmetricState::SymmetricState(std::string_view protocol_name) {
  // A name of at most 32 bytes is zero-padded to 32 (ours are 31).
  std::copy(protocol_name.begin(), protocol_name.end(), h_.begin());
  ck_ = h_;
}

SymmetricState::~SymmetricState() { secure_wipe(ck_.data(), ck_.size()); }

void SymmetricState::mix_hash(ByteView data) { h_ = crypto::sha256(concat(h_, data)); }

void SymmetricState::mix_key(ByteView ikm) {
  auto out = crypto::hkdf_sha256(ikm, ck_, {}, 64);
  std::copy(out.begin(), out.begin() + 32, ck_.begin());
  k_ = SecretBytes(ByteView(out).subspan(32, 32));
  n_ = 0;
  secure_wipe(out.data(), out.size());
}

void SymmetricState::mix_key_and_hash(ByteView ikm) {
  auto out = crypto::hkdf_sha256(ikm, ck_, {}, 96);
  std::copy(out.begin(), out.begin() + 32, ck_.begin());
  mix_hash(ByteView(out).subspan(32, 32));
  k_ = SecretBytes(ByteView(out).subspan(64, 32));
  n_ = 0;
  secure_wipe(out.data(), out.size());
}

// Chromium writes the counter big-endian into the first 4 bytes; every handshake key is
// used once, with counter 0, so this equals standard Noise here.
ByteArray<12> SymmetricState::next_nonce() {
  ByteArray<12> nonce{};
  nonce[0] = uint8_t(n_ >> 24);
  nonce[1] = uint8_t(n_ >> 16);
  nonce[2] = uint8_t(n_ >> 8);
  nonce[3] = uint8_t(n_);
  ++n_;
  return nonce;
}

Bytes SymmetricState::encrypt_and_hash(ByteView plaintext) {
  auto c = crypto::aes256_gcm_seal(k_, next_nonce(), h_, plaintext);
  mix_hash(c);
  return c;
}

Result<Bytes> SymmetricState::decrypt_and_hash(ByteView ciphertext) {
  auto p = crypto::aes256_gcm_open(k_, next_nonce(), h_, ciphertext);
  if (!p) return p.error();
  mix_hash(ciphertext);
  return p;
}

TrafficKeys SymmetricState::split() const {
  auto out = crypto::hkdf_sha256({}, ck_, {}, 64);
  TrafficKeys keys{SecretBytes(ByteView(out).first(32)), SecretBytes(ByteView(out).subspan(32, 32))};
  secure_wipe(out.data(), out.size());
  return keys;
}

namespace {

// ECDH outputs are mixed into the chaining key and wiped at once.
void mix_dh(SymmetricState& state, crypto::EcdhSecret dh) {
  state.mix_key(dh);
  secure_wipe(dh.data(), dh.size());
}

// What both sides mix before message 1's tokens: the prologue (which flow) and the static
// key both know beforehand (the client's identity in KNpsk0, the phone's in NKpsk0), then psk.
void mix_premessages(SymmetricState& state, HandshakeFlow flow, const P256PublicKey& known_static, ByteView psk) {
  const uint8_t prologue = flow == HandshakeFlow::qr ? kPrologueQr : kPrologueLinked;
  state.mix_hash(ByteView(&prologue, 1));
  state.mix_hash(known_static.uncompressed());
  state.mix_key_and_hash(psk);
}

// An ephemeral key token (e or f): hashed, and mixed into the key because of the psk.
void mix_ephemeral(SymmetricState& state, ByteView point) {
  state.mix_hash(point);
  state.mix_key(point);
}

enum class HandshakeError { malformed = 1, auth_failed = 2 };
HYBRID_ERROR_DOMAIN(HandshakeError, "noise handshake")

Result<P256PublicKey> parse_peer_ephemeral(ByteView message, const char* which) {
  if (message.size() != kHandshakeMessageSize) {
    return make_error(HandshakeError::malformed, std::string(which) + " must be " +
                                               std::to_string(kHandshakeMessageSize) + " bytes, got " +
                                               std::to_string(message.size()));
  }
  auto point = P256PublicKey::parse(message.first(kP256UncompressedSize));
  if (!point || message[0] != 0x04) {
    return make_error(HandshakeError::malformed,
                      std::string(which) + " does not start with a valid uncompressed P-256 point");
  }
  return point;
}

Status expect_empty_payload(SymmetricState& state, ByteView ciphertext, const char* which) {
  auto payload = state.decrypt_and_hash(ciphertext);
  if (!payload) {
    return make_error(HandshakeError::auth_failed,
                      std::string(which) +
                          " did not authenticate: the peer used a different pre-shared key or static "
                          "key (a different QR code or advert), or the message was altered");
  }
  if (!payload->empty()) {
    return make_error(HandshakeError::malformed, std::string(which) + " carries an unexpected payload");
  }
  return {};
}

// Message 1 from the initiator's side: premessages, e, es (NKpsk0 only), and the tag of
// the empty payload.
Bytes initiator_message1(SymmetricState& state, HandshakeFlow flow, const P256PublicKey& known_static, ByteView psk,
                         const P256KeyPair& ephemeral) {
  mix_premessages(state, flow, known_static, psk);
  const auto& e = ephemeral.public_key().uncompressed();
  mix_ephemeral(state, e);
  if (flow == HandshakeFlow::linked) mix_dh(state, ephemeral.ecdh(known_static));  // es
  auto tag = state.encrypt_and_hash({});
  return concat(e, tag);
}

}  // namespace

HandshakeInitiator::HandshakeInitiator(HandshakeFlow flow, std::string_view name, P256KeyPair ephemeral)
    : flow_(flow), state_(name), ephemeral_(std::move(ephemeral)) {}

HandshakeInitiator HandshakeInitiator::for_qr(ByteView psk, const P256KeyPair& identity,
                                              std::optional<P256KeyPair> ephemeral) {
  HandshakeInitiator hs(HandshakeFlow::qr, kNoiseKNpsk0,
                        ephemeral ? std::move(*ephemeral) : P256KeyPair::generate());
  hs.identity_ = identity;
  hs.message1_ = initiator_message1(hs.state_, HandshakeFlow::qr, identity.public_key(), psk, hs.ephemeral_);
  return hs;
}

HandshakeInitiator HandshakeInitiator::for_linked(ByteView psk, const P256PublicKey& phone_identity,
                                                  std::optional<P256KeyPair> ephemeral) {
  HandshakeInitiator hs(HandshakeFlow::linked, kNoiseNKpsk0,
                        ephemeral ? std::move(*ephemeral) : P256KeyPair::generate());
  hs.peer_identity_ = phone_identity;
  hs.message1_ = initiator_message1(hs.state_, HandshakeFlow::linked, phone_identity, psk, hs.ephemeral_);
  return hs;
}

Result<HandshakeResult> HandshakeInitiator::process_message2(ByteView message2) {
  HYBRID_TRY(auto f, parse_peer_ephemeral(message2, "the phone's handshake reply"));
  mix_ephemeral(state_, f.uncompressed());
  mix_dh(state_, ephemeral_.ecdh(f));                       // ee
  if (flow_ == HandshakeFlow::qr) mix_dh(state_, identity_->ecdh(f));  // se
  HYBRID_TRY_STATUS(expect_empty_payload(state_, message2.subspan(kP256UncompressedSize),
                                         "the phone's handshake reply"));
  return HandshakeResult{state_.split(), state_.hash()};
}

namespace {

Result<ResponderOutput> respond(HandshakeFlow flow, ByteView psk, ByteView message1,
                                const P256PublicKey& prologue_key, const P256KeyPair* phone_identity,
                                const P256PublicKey* client_identity, std::optional<P256KeyPair> ephemeral) {
  SymmetricState state(flow == HandshakeFlow::qr ? kNoiseKNpsk0 : kNoiseNKpsk0);
  mix_premessages(state, flow, prologue_key, psk);
  HYBRID_TRY(auto e, parse_peer_ephemeral(message1, "the client's handshake message"));
  mix_ephemeral(state, e.uncompressed());
  if (flow == HandshakeFlow::linked) mix_dh(state, phone_identity->ecdh(e));  // es
  HYBRID_TRY_STATUS(expect_empty_payload(state, message1.subspan(kP256UncompressedSize),
                                         "the client's handshake message"));
  P256KeyPair f = ephemeral ? std::move(*ephemeral) : P256KeyPair::generate();
  const auto& f_pub = f.public_key().uncompressed();
  mix_ephemeral(state, f_pub);
  mix_dh(state, f.ecdh(e));                                              // ee
  if (flow == HandshakeFlow::qr) mix_dh(state, f.ecdh(*client_identity));  // se
  auto tag = state.encrypt_and_hash({});
  return ResponderOutput{concat(f_pub, tag), HandshakeResult{state.split(), state.hash()}};
}

}  // namespace

Result<ResponderOutput> respond_qr_handshake(ByteView psk, const P256PublicKey& client_identity,
                                             ByteView message1, std::optional<P256KeyPair> ephemeral) {
  return respond(HandshakeFlow::qr, psk, message1, client_identity, nullptr, &client_identity,
                 std::move(ephemeral));
}

Result<ResponderOutput> respond_linked_handshake(ByteView psk, const P256KeyPair& phone_identity,
                                                 ByteView message1, std::optional<P256KeyPair> ephemeral) {
  return respond(HandshakeFlow::linked, psk, message1, phone_identity.public_key(), &phone_identity, nullptr,
                 std::move(ephemeral));
}

}  // namespace hybrid
