// Decoding a PNG (any colour type and depth libpng reads) into an 8-bit grey image, from
// bytes in memory; no file I/O here.
#pragma once

#include "base/bytes.h"
#include "base/result.h"
#include "qr/scanner.h"

namespace hybrid::qr {

// Refuses what is not a PNG, a damaged or truncated one, and pictures larger than
// kMaxPngPixels, with a message that says which.
inline constexpr uint64_t kMaxPngPixels = uint64_t{8192} * 8192;
Result<GreyImage> decode_png_grey(ByteView png);

}  // namespace hybrid::qr
