// Drawing a FIDO:/ URL (or any text) as a QR code: in a terminal, as SVG and as PNG.
// libqrencode makes the symbol; this file only draws it (no I/O: callers write files).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace hybrid::qr {

// Modules left blank around the symbol on every side (ISO/IEC 18004 asks for 4).
inline constexpr int kQuietZoneModules = 4;

// A QR symbol as a square of modules, without the quiet zone.
struct QrMatrix {
  int size = 0;            // modules per side (21 for version 1, +4 per version)
  int version = 0;
  std::vector<bool> dark;  // row-major, size * size
  bool is_dark(int x, int y) const { return dark[size_t(y) * size_t(size) + size_t(x)]; }
};

// Encodes `text` at error-correction level M. A canonical FIDO:/ URL (upper-case prefix,
// digits only) is encoded as an alphanumeric segment for "FIDO:/" and a numeric segment
// for the digits (docs/protocol.md §3.1): 69 bytes of CBOR (168 digits) then fit version 5 (37×37).
// Other text uses libqrencode's own mode optimisation.
Result<QrMatrix> encode_matrix(std::string_view text);

// UTF-8 half blocks (two modules per character cell), with the quiet zone, one line per
// two module rows, each line ending in "\n". A 168-digit URL is 45 columns wide.
// `invert` draws the light modules as glyphs instead of the dark ones; see render.cpp.
Result<std::string> render_terminal(std::string_view text, bool invert = false);

// A standalone SVG document: a white square and one black path, with the quiet zone;
// each module is `module_px` (1…100) user units and pixels.
Result<std::string> render_svg(std::string_view text, int module_px = 8);

// An 8-bit greyscale PNG (black on white, quiet zone included), `module_px` (1…100)
// pixels per module.
Result<Bytes> render_png(std::string_view text, int module_px = 8);

}  // namespace hybrid::qr
