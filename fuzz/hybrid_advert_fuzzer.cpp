// Advert trial decryption and plaintext parsing with arbitrary service data.
#include <cstdint>
#include <cstdlib>

#include "hybrid/advert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const hybrid::Bytes kKey(64, 0x5a);
  hybrid::ByteView input(data, size);
  auto p = hybrid::trial_decrypt_advert(kKey, input, size % 2 == 0);
  if (p) {
    auto c = hybrid::AdvertContents::parse(*p);
    if (c && c->to_plaintext() != *p) std::abort();
  }
  if (size >= 16) (void)hybrid::AdvertContents::parse(input.first(16));
  return 0;
}
