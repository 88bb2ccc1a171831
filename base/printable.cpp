#include "base/printable.h"

#include <cstdint>

#include "base/utf8.h"

namespace hybrid {
namespace {

bool is_bidi_control(uint32_t cp) {
  return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string printable(std::string_view s, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD
  static constexpr std::string_view kEllipsis = "\xe2\x80\xa6";     // U+2026
  std::string out;
  out.reserve(s.size() < max_bytes ? s.size() : max_bytes);
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    const size_t len = decode_utf8(s, i, cp);
    std::string_view piece;
    if (len == 0) {
      piece = kReplacement;
      i += 1;
    } else {
      piece = s.substr(i, len);
      i += len;
      if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || is_bidi_control(cp)) continue;
    }
    if (out.size() + piece.size() > max_bytes) {
      out += kEllipsis;
      break;
    }
    out += piece;
  }
  return out;
}

}  // namespace hybrid
