// The QR-from-PNG reader (`hybrid phone --qr-png`) with arbitrary bytes: libpng's decoder
// then libzbar over the grey picture. Every input must end in a text or an error with a
// message, never a crash or a read past the buffer; a decoded picture has exactly the
// pixels its size says.
#include <cstdint>
#include <cstdlib>

#include "qr/png_image.h"
#include "qr/scanner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hybrid::ByteView bytes(data, size);
  auto image = hybrid::qr::decode_png_grey(bytes);
  if (image.ok()) {
    if (image->width <= 0 || image->height <= 0) std::abort();
    if (image->pixels.size() != size_t(image->width) * size_t(image->height)) std::abort();
  } else if (image.error().message.empty()) {
    std::abort();
  }
  auto text = hybrid::qr::read_qr_png(bytes);
  if (!text.ok() && text.error().message.empty()) std::abort();
  if (text.ok() != image.ok() && text.ok()) std::abort();  // no text from an unreadable PNG
  return 0;
}
