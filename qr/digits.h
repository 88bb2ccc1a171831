// The base-10 "digit" encoding of the FIDO:/ QR payload (docs/protocol.md §3.2, Chromium's
// BytesToDigits/DigitsToBytes). Decimal digits let a QR encoder use numeric mode, which
// packs 3 digits into 10 bits: ~17 digits carry 7 bytes at ~0.41 bytes/char overhead.
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"

namespace hybrid::qr {

// Each full 7-byte chunk, read little-endian, becomes 17 zero-padded digits; a final
// chunk of 1–6 bytes becomes 3, 5, 8, 10, 13 or 15 digits. Empty input gives "".
std::string digits_encode(ByteView bytes);

// The inverse, with Chromium's rules: only ASCII '0'–'9' (no sign, space or other
// Unicode digits); 17-digit groups must be below 2^56; the final group must have
// 0, 3, 5, 8, 10, 13 or 15 digits and fit its byte count. Errors say which rule failed
// and at which character position.
Result<Bytes> digits_decode(std::string_view digits);

// Number of digits digits_encode() produces for `byte_count` bytes.
size_t digits_length(size_t byte_count);

}  // namespace hybrid::qr
