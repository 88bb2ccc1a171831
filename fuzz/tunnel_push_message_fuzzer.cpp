// Fuzzes the push-channel message decoder the software phone runs on what the server sends.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tunnel/push_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hybrid::tunnel;
  auto m = decode_push_message(hybrid::ByteView(data, size));
  if (m) {
    auto wire = encode_push_message(*m);
    // The decoder accepts canonical CBOR only, so a decoded message re-encodes to itself.
    if (wire != hybrid::Bytes(data, data + size)) abort();
  }
  return 0;
}
