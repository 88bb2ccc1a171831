// Finds QR codes in a grey image with libzbar (in-process; no zbarimg subprocess).
#pragma once

#include <string>
#include <vector>

#include "browser/x_screen.h"

namespace hybrid::browser {

class QrScanner {
 public:
  QrScanner();
  ~QrScanner();
  QrScanner(const QrScanner&) = delete;
  QrScanner& operator=(const QrScanner&) = delete;

  // The text of every QR code found (usually none or one).
  std::vector<std::string> scan(const GreyImage& image);

 private:
  void* scanner_;  // zbar_image_scanner_t
};

}  // namespace hybrid::browser
