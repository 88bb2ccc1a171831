// The QR flow (KNpsk0) end to end and past the AEAD: see fuzz/session_driver.h. Every key
// comes from the input, so a finding reproduces from its file alone.
#include <cstdint>

#include "fuzz/session_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hybrid::fuzz::SessionDriver(hybrid::HandshakeFlow::qr, data, size).run();
  return 0;
}
