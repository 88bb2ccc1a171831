// The base-10 digit decoder with arbitrary text: it must never crash, and whatever it
// accepts must re-encode to exactly the input (the encoding is a bijection on valid input).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "qr/digits.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto bytes = hybrid::qr::digits_decode(text);
  if (bytes.ok()) {
    if (hybrid::qr::digits_encode(*bytes) != text) std::abort();
    if (hybrid::qr::digits_length(bytes->size()) != size) std::abort();
  } else if (bytes.error().message.empty()) {
    std::abort();
  }
  // And the other direction: any bytes encode to digits that decode back.
  auto digits = hybrid::qr::digits_encode(hybrid::ByteView(data, size));
  auto back = hybrid::qr::digits_decode(digits);
  if (!back.ok() || *back != hybrid::Bytes(data, data + size)) std::abort();
  return 0;
}
