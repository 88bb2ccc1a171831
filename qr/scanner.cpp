#include "qr/scanner.h"

#include <zbar.h>

#include "qr/png_image.h"

// zbar.h puts its C API in namespace zbar when compiled as C++.
using namespace zbar;

namespace hybrid::qr {

QrScanner::QrScanner() {
  auto* s = zbar_image_scanner_create();
  zbar_image_scanner_set_config(s, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
  zbar_image_scanner_set_config(s, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
  scanner_ = s;
}

QrScanner::~QrScanner() { zbar_image_scanner_destroy(static_cast<zbar_image_scanner_t*>(scanner_)); }

std::vector<std::string> QrScanner::scan(const GreyImage& image) {
  std::vector<std::string> out;
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height)) {
    return out;
  }
  zbar_image_t* img = zbar_image_create();
  zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
  zbar_image_set_size(img, static_cast<unsigned>(image.width), static_cast<unsigned>(image.height));
  zbar_image_set_data(img, image.pixels.data(), image.pixels.size(), nullptr);
  if (zbar_scan_image(static_cast<zbar_image_scanner_t*>(scanner_), img) > 0) {
    for (const zbar_symbol_t* sym = zbar_image_first_symbol(img); sym; sym = zbar_symbol_next(sym)) {
      if (zbar_symbol_get_type(sym) != ZBAR_QRCODE) continue;
      out.emplace_back(zbar_symbol_get_data(sym), zbar_symbol_get_data_length(sym));
    }
  }
  zbar_image_destroy(img);
  return out;
}

Result<std::string> read_qr_png(ByteView png) {
  auto image = decode_png_grey(png);
  if (!image.ok()) return image.error();
  QrScanner scanner;
  auto found = scanner.scan(*image);
  if (found.empty()) return make_error("no QR code found in the picture");
  return found.front();
}

}  // namespace hybrid::qr
