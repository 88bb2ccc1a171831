#include "qr/png_image.h"

#include <png.h>

#include <cstring>

namespace hybrid::qr {

Result<GreyImage> decode_png_grey(ByteView png) {
  static constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (png.size() < sizeof kSignature || std::memcmp(png.data(), kSignature, sizeof kSignature) != 0) {
    return make_error("not a PNG file (it does not start with the PNG signature)");
  }
  // libpng's simplified API: errors come back as a message, no setjmp/longjmp across C++.
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, png.data(), png.size())) {
    std::string why = image.message;
    png_image_free(&image);
    return make_error("a damaged PNG file (libpng: " + why + ")");
  }
  if (image.width == 0 || image.height == 0 || uint64_t{image.width} * image.height > kMaxPngPixels) {
    png_image_free(&image);
    return make_error("the PNG picture is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                      " pixels; at most " + std::to_string(kMaxPngPixels) + " pixels are read");
  }
  image.format = PNG_FORMAT_GRAY;
  GreyImage out;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  // A transparent background becomes white, as a viewer (and zbarimg) shows it.
  png_color background{255, 255, 255};
  if (!png_image_finish_read(&image, &background, out.pixels.data(), 0, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    return make_error("a damaged PNG file (libpng: " + why + ")");
  }
  return out;
}

}  // namespace hybrid::qr
