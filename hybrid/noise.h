// §8: the two Noise handshakes of the hybrid transport on P-256 / AES-256-GCM / SHA-256:
// KNpsk0 (QR-initiated; the client's static key is in the QR) and NKpsk0 (linked; the
// phone's static key is known from linking). The client is always the initiator.
#pragma once

#include <optional>

#include "crypto/p256.h"
#include "hybrid/ids.h"

namespace hybrid {

enum class HandshakeFlow { qr, linked };

// §8.5: k1 = client→phone, k2 = phone→client.
struct TrafficKeys {
  SecretBytes client_to_phone;
  SecretBytes phone_to_client;
};

struct HandshakeResult {
  TrafficKeys keys;
  HandshakeHash handshake_hash{};  // the channel binding signed by linking (§10.2)
};

// §8.2: Noise's symmetric state (ck, h, k) with this transport's nonce rule.
class SymmetricState {
 public:
  explicit SymmetricState(std::string_view protocol_name);
  SymmetricState(const SymmetricState&) = default;
  SymmetricState(SymmetricState&&) = default;
  SymmetricState& operator=(const SymmetricState&) = default;
  SymmetricState& operator=(SymmetricState&&) = default;
  ~SymmetricState();  // wipes the chaining key (k_ wipes itself)
  void mix_hash(ByteView data);
  void mix_key(ByteView ikm);
  void mix_key_and_hash(ByteView ikm);
  Bytes encrypt_and_hash(ByteView plaintext);
  Result<Bytes> decrypt_and_hash(ByteView ciphertext);
  TrafficKeys split() const;
  const HandshakeHash& hash() const { return h_; }

 private:
  ByteArray<12> next_nonce();
  ByteArray<32> ck_{};
  HandshakeHash h_{};
  SecretBytes k_;
  uint32_t n_ = 0;
};

class HandshakeInitiator {
 public:
  // QR flow: our identity key pair is the one whose public key the QR code carries.
  static HandshakeInitiator for_qr(ByteView psk, const crypto::P256KeyPair& identity,
                                   std::optional<crypto::P256KeyPair> ephemeral = std::nullopt);
  // Linked flow: the phone's identity public key comes from the stored link.
  static HandshakeInitiator for_linked(ByteView psk, const crypto::P256PublicKey& phone_identity,
                                       std::optional<crypto::P256KeyPair> ephemeral = std::nullopt);

  // Message 1 (81 bytes): E ‖ tag.
  const Bytes& message1() const { return message1_; }
  // Processes message 2; it must be exactly 81 bytes, carry a valid point and authenticate
  // with an empty payload.
  Result<HandshakeResult> process_message2(ByteView message2);

  const crypto::P256KeyPair& ephemeral() const { return ephemeral_; }
  HandshakeFlow flow() const { return flow_; }

 private:
  HandshakeInitiator(HandshakeFlow flow, std::string_view name, crypto::P256KeyPair ephemeral);
  HandshakeFlow flow_;
  SymmetricState state_;
  crypto::P256KeyPair ephemeral_;
  std::optional<crypto::P256KeyPair> identity_;        // qr
  std::optional<crypto::P256PublicKey> peer_identity_;  // linked
  Bytes message1_;
};

struct ResponderOutput {
  Bytes message2;  // 81 bytes
  HandshakeResult result;
};

// The phone's side: checks message 1 and produces message 2 and the traffic keys.
Result<ResponderOutput> respond_qr_handshake(ByteView psk, const crypto::P256PublicKey& client_identity,
                                             ByteView message1,
                                             std::optional<crypto::P256KeyPair> ephemeral = std::nullopt);
Result<ResponderOutput> respond_linked_handshake(ByteView psk, const crypto::P256KeyPair& phone_identity,
                                                 ByteView message1,
                                                 std::optional<crypto::P256KeyPair> ephemeral = std::nullopt);

}  // namespace hybrid
