// Both handshake responders and both initiators' message-2 processing with arbitrary bytes.
#include <cstdint>

#include "crypto/p256.h"
#include "hybrid/noise.h"

using hybrid::ByteView;
using hybrid::Bytes;
using hybrid::crypto::P256KeyPair;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Bytes kPsk(32, 1);
  static const auto kClient = *P256KeyPair::from_private_scalar(Bytes(32, 0x21));
  static const auto kPhone = *P256KeyPair::from_private_scalar(Bytes(32, 0x11));
  ByteView input(data, size);
  (void)hybrid::respond_qr_handshake(kPsk, kClient.public_key(), input);
  (void)hybrid::respond_linked_handshake(kPsk, kPhone, input);
  auto qr = hybrid::HandshakeInitiator::for_qr(kPsk, kClient, *P256KeyPair::from_private_scalar(Bytes(32, 0x22)));
  (void)qr.process_message2(input);
  auto linked = hybrid::HandshakeInitiator::for_linked(kPsk, kPhone.public_key(),
                                                       *P256KeyPair::from_private_scalar(Bytes(32, 0x22)));
  (void)linked.process_message2(input);
  return 0;
}
