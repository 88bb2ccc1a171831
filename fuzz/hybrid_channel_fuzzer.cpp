// The channel's parsers: frames, padding, the post-handshake message (both revisions),
// Update payloads, linking maps and contact client payloads.
#include <cstdint>
#include <cstdlib>

#include "cbor/codec.h"
#include "hybrid/client_payload.h"
#include "hybrid/crypter.h"
#include "hybrid/framing.h"
#include "hybrid/linking.h"
#include "hybrid/padding.h"
#include "hybrid/post_handshake.h"

using hybrid::ByteView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  auto frame = hybrid::parse_frame(input);
  if (frame && hybrid::encode_frame(frame->type, frame->payload) != hybrid::Bytes(input.begin(), input.end()))
    std::abort();
  (void)hybrid::unpad_message(input);
  (void)hybrid::parse_post_handshake(input);
  auto update = hybrid::parse_update_payload(input);
  if (update && update->has_value()) (void)hybrid::parse_linking_map(**update);
  if (auto v = hybrid::cbor::decode(input)) (void)hybrid::parse_linking_map(*v);
  (void)hybrid::ClientPayload::parse(input);
  // Arbitrary ciphertext into a crypter must fail cleanly.
  hybrid::Crypter c(hybrid::Bytes(32, 3), hybrid::Bytes(32, 4));
  c.accept_old_construction_on_first_message(true);
  (void)c.decrypt(input);
  return 0;
}
