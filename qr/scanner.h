// Reading QR codes back: libzbar finds them in a grey image (a screen grab, a decoded PNG),
// in-process. The browser's screen phone and `hybrid phone --qr-png` both read through here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace hybrid::qr {

// An 8-bit grey image, one byte per pixel (0 black … 255 white).
struct GreyImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // row-major, width * height
};

class QrScanner {
 public:
  QrScanner();
  ~QrScanner();
  QrScanner(const QrScanner&) = delete;
  QrScanner& operator=(const QrScanner&) = delete;

  // The text of every QR code found (usually none or one); none for a malformed image.
  std::vector<std::string> scan(const GreyImage& image);

 private:
  void* scanner_;  // zbar_image_scanner_t
};

// The text of the first QR code in a PNG file's bytes. Errors say whether the bytes are not
// a readable PNG or the picture holds no QR code.
Result<std::string> read_qr_png(ByteView png);

}  // namespace hybrid::qr
