// Reading a QR code back in-process (qr/scanner.h, qr/png_image.h): what our own renderer
// draws comes back as the identical text; what is not a PNG, a damaged PNG and a PNG with no
// QR code in it are refused with a message that says which, never a crash.
#include <catch2/catch.hpp>

#include <png.h>

#include <cstring>

#include "qr/png_image.h"
#include "qr/render.h"
#include "qr/scanner.h"

using namespace hybrid;

namespace {

// An 8-bit grey PNG of one flat colour, written by libpng (not by our renderer).
Bytes flat_png(int width, int height, uint8_t grey) {
  std::vector<uint8_t> pixels(size_t(width) * size_t(height), grey);
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.format = PNG_FORMAT_GRAY;
  image.width = png_uint_32(width);
  image.height = png_uint_32(height);
  png_alloc_size_t size = 0;
  REQUIRE(png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0, nullptr));
  Bytes png(size);
  REQUIRE(png_image_write_to_memory(&image, png.data(), &size, 0, pixels.data(), 0, nullptr));
  png.resize(size);
  return png;
}

const std::string kUrl = "FIDO:/" + std::string(168, '7');

}  // namespace

TEST_CASE("qr scanner: a PNG our renderer wrote reads back to the identical text") {
  for (const std::string& text : {kUrl, std::string("FIDO:/0123456789"), std::string("hello, QR")}) {
    for (int px : {2, 3, 8}) {
      INFO(text << " at " << px << " px per module");
      auto png = qr::render_png(text, px);
      REQUIRE(png.ok());
      auto read = qr::read_qr_png(*png);
      REQUIRE(read.ok());
      CHECK(*read == text);
    }
  }
}

TEST_CASE("qr scanner: the decoded PNG is the grey picture the renderer drew") {
  auto m = qr::encode_matrix(kUrl);
  REQUIRE(m.ok());
  auto png = qr::render_png(kUrl, 3);
  REQUIRE(png.ok());
  auto image = qr::decode_png_grey(*png);
  REQUIRE(image.ok());
  const int side = (m->size + 2 * qr::kQuietZoneModules) * 3;
  CHECK(image->width == side);
  CHECK(image->height == side);
  REQUIRE(image->pixels.size() == size_t(side) * size_t(side));
  CHECK(image->pixels[0] == 255);  // the quiet zone is white
  const size_t first_module = size_t(qr::kQuietZoneModules * 3) * size_t(side) + size_t(qr::kQuietZoneModules * 3);
  CHECK(image->pixels[first_module] == 0);  // a finder pattern's corner is black
}

TEST_CASE("qr scanner: a PNG without a QR code is refused with a clear message") {
  auto read = qr::read_qr_png(flat_png(64, 48, 0xff));
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().message == "no QR code found in the picture");
}

TEST_CASE("qr scanner: bytes that are not a PNG are refused") {
  for (const Bytes& bytes : {Bytes{}, Bytes{'G', 'I', 'F', '8', '9', 'a', 0, 0, 0, 0},
                             Bytes{0x89, 'P', 'N', 'G'}}) {
    auto read = qr::read_qr_png(bytes);
    REQUIRE_FALSE(read.ok());
    CHECK(read.error().message.find("not a PNG file") != std::string::npos);
  }
}

TEST_CASE("qr scanner: a damaged or truncated PNG is refused, not read past its end") {
  auto png = qr::render_png(kUrl, 4);
  REQUIRE(png.ok());
  // Cut anywhere after the signature: libpng must report it rather than read on.
  for (size_t keep : {size_t{8}, size_t{16}, size_t{33}, png->size() / 2, png->size() - 13}) {
    INFO("kept " << keep << " of " << png->size() << " bytes");
    Bytes cut(png->begin(), png->begin() + std::ptrdiff_t(keep));
    auto read = qr::read_qr_png(cut);
    REQUIRE_FALSE(read.ok());
    CHECK(read.error().message.find("damaged PNG") != std::string::npos);
  }
  // A flipped bit in the image data breaks its CRC (or its zlib stream).
  Bytes flipped = *png;
  flipped[flipped.size() / 2] ^= 0x40;
  auto read = qr::read_qr_png(flipped);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().message.find("damaged PNG") != std::string::npos);
}

TEST_CASE("qr scanner: a malformed grey image finds nothing rather than reading out of bounds") {
  qr::QrScanner scanner;
  qr::GreyImage image;
  image.width = 100;
  image.height = 100;
  image.pixels.resize(10);
  CHECK(scanner.scan(image).empty());
  image.width = -1;
  CHECK(scanner.scan(image).empty());
}
