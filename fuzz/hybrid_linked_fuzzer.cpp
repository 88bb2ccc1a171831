// The linked ("state-assisted") flow (NKpsk0, a contact request instead of a QR code) end to
// end and past the AEAD: see fuzz/session_driver.h. Every key comes from the input.
#include <cstdint>

#include "fuzz/session_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hybrid::fuzz::SessionDriver(hybrid::HandshakeFlow::linked, data, size).run();
  return 0;
}
