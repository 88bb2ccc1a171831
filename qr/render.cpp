#include "qr/render.h"

#include <png.h>
#include <qrencode.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <memory>

namespace hybrid::qr {
namespace {

// Level M (~15% of codewords recoverable). A QR code on a screen is not torn or dirty,
// so the higher levels mostly buy size: at M a 168-digit URL needs version 5 (37 modules),
// at Q version 7 (45) and at H version 8 (49); fewer modules means bigger modules at the
// same display size, which phone cameras read faster and from further away. M rather
// than L keeps a margin for glare, moiré and a finger over the screen.
constexpr QRecLevel kEcLevel = QR_ECLEVEL_M;
constexpr int kMaxModulePx = 100;

struct QrcodeFree {
  void operator()(QRcode* c) const { QRcode_free(c); }
};
struct QrinputFree {
  void operator()(QRinput* i) const { QRinput_free(i); }
};

bool is_canonical_fido_url(std::string_view text) {
  constexpr std::string_view kPrefix = "FIDO:/";
  if (text.size() <= kPrefix.size() || text.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : text.substr(kPrefix.size())) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Error encode_failure(int err) {
  if (err == ERANGE) {
    return make_error("the text is too long for a QR code at error-correction level M");
  }
  return make_error(fmt::format("libqrencode failed: {}", std::strerror(err)));
}

int total_modules(const QrMatrix& m) { return m.size + 2 * kQuietZoneModules; }

// Dark or light, with the quiet zone around the symbol (light).
bool dark_with_margin(const QrMatrix& m, int x, int y) {
  x -= kQuietZoneModules;
  y -= kQuietZoneModules;
  return x >= 0 && y >= 0 && x < m.size && y < m.size && m.is_dark(x, y);
}

Status check_module_px(int module_px) {
  if (module_px < 1 || module_px > kMaxModulePx) {
    return make_error(
        fmt::format("module size must be 1 to {} pixels, got {}", kMaxModulePx, module_px));
  }
  return {};
}

}  // namespace

Result<QrMatrix> encode_matrix(std::string_view text) {
  if (text.empty()) return make_error("cannot make a QR code of empty text");
  std::string s(text);
  errno = 0;
  std::unique_ptr<QRcode, QrcodeFree> code;
  if (is_canonical_fido_url(text)) {
    // Two segments: 6 characters alphanumeric (5.5 bits each), then digits numeric
    // (3⅓ bits each). libqrencode's automatic split does the same, but saying it here
    // keeps the size independent of its heuristics.
    std::unique_ptr<QRinput, QrinputFree> input(QRinput_new2(0, kEcLevel));
    if (!input) return encode_failure(errno);
    const auto* data = reinterpret_cast<const unsigned char*>(s.data());
    if (QRinput_append(input.get(), QR_MODE_AN, 6, data) != 0 ||
        QRinput_append(input.get(), QR_MODE_NUM, int(s.size() - 6), data + 6) != 0) {
      return encode_failure(errno);
    }
    code.reset(QRcode_encodeInput(input.get()));
  } else {
    if (s.find('\0') != std::string::npos) {
      code.reset(QRcode_encodeData(int(s.size()), reinterpret_cast<const unsigned char*>(s.data()),
                                   0, kEcLevel));
    } else {
      code.reset(QRcode_encodeString(s.c_str(), 0, kEcLevel, QR_MODE_8, 1));
    }
  }
  if (!code) return encode_failure(errno ? errno : EINVAL);
  QrMatrix m;
  m.size = code->width;
  m.version = code->version;
  m.dark.resize(size_t(m.size) * size_t(m.size));
  for (size_t i = 0; i < m.dark.size(); ++i) m.dark[i] = (code->data[i] & 1) != 0;
  return m;
}

// Terminal output. Each character cell shows two module rows with the half blocks
// ▀ ▄ █ and space, so modules come out roughly square and a 37-module symbol plus its
// quiet zone is 45 columns by 23 lines.
//
// Light and dark backgrounds: a glyph is drawn in the terminal's foreground colour,
// which is dark on a light theme and light on a dark one, so glyphs alone give an
// inverted code on one of the two. Every line therefore sets its own colours (ANSI SGR):
// black foreground on white background, then resets before the newline. The symbol and
// its quiet zone then look the same, dark on light as scanners expect, on any theme.
// `invert` swaps both the glyph roles and the colours (light modules drawn as white
// glyphs on black), which looks identical where colours work, and is right on a dark
// terminal that ignores colours (e.g. through a pager without -R).
Result<std::string> render_terminal(std::string_view text, bool invert) {
  HYBRID_TRY(auto m, encode_matrix(text));
  // 30/97 = black/bright-white foreground; 47 then 107 = white then bright-white
  // background (a terminal without the bright colours ignores 107 and keeps 47).
  const std::string_view colours = invert ? "\x1b[97;40m" : "\x1b[30;47;107m";
  const std::string_view reset = "\x1b[0m";
  const int n = total_modules(m);
  std::string out;
  for (int y = 0; y < n; y += 2) {
    out += colours;
    for (int x = 0; x < n; ++x) {
      bool top = dark_with_margin(m, x, y) != invert;
      bool bottom = (y + 1 < n) ? (dark_with_margin(m, x, y + 1) != invert) : invert;
      if (top && bottom) {
        out += "\u2588";  // █
      } else if (top) {
        out += "\u2580";  // ▀
      } else if (bottom) {
        out += "\u2584";  // ▄
      } else {
        out += ' ';
      }
    }
    out += reset;
    out += '\n';
  }
  return out;
}

Result<std::string> render_svg(std::string_view text, int module_px) {
  HYBRID_TRY_STATUS(check_module_px(module_px));
  HYBRID_TRY(auto m, encode_matrix(text));
  const int n = total_modules(m);
  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{0}\" "
      "viewBox=\"0 0 {1} {1}\" shape-rendering=\"crispEdges\">\n"
      "<rect width=\"{1}\" height=\"{1}\" fill=\"#ffffff\"/>\n"
      "<path fill=\"#000000\" d=\"",
      n * module_px, n);
  // One rectangle per horizontal run of dark modules, in module units.
  for (int y = 0; y < m.size; ++y) {
    for (int x = 0; x < m.size;) {
      if (!m.is_dark(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < m.size && m.is_dark(x + run, y)) ++run;
      out += fmt::format("M{} {}h{}v1h-{}z", x + kQuietZoneModules, y + kQuietZoneModules, run, run);
      x += run;
    }
  }
  out += "\"/>\n</svg>\n";
  return out;
}

Result<Bytes> render_png(std::string_view text, int module_px) {
  HYBRID_TRY_STATUS(check_module_px(module_px));
  HYBRID_TRY(auto m, encode_matrix(text));
  const int side = total_modules(m) * module_px;
  Bytes pixels(size_t(side) * size_t(side));
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      pixels[size_t(y) * size_t(side) + size_t(x)] =
          dark_with_margin(m, x / module_px, y / module_px) ? 0x00 : 0xff;
    }
  }
  // libpng's simplified API: no setjmp/longjmp across C++ frames.
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = png_uint_32(side);
  image.height = png_uint_32(side);
  image.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    return make_error("libpng could not size the PNG: " + why);
  }
  Bytes png(size);
  if (!png_image_write_to_memory(&image, png.data(), &size, 0, pixels.data(), 0, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    return make_error("libpng could not write the PNG: " + why);
  }
  png.resize(size);
  return png;
}

}  // namespace hybrid::qr
