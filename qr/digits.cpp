#include "qr/digits.h"

#include <array>
#include <fmt/format.h>

namespace hybrid::qr {
namespace {

constexpr size_t kChunkBytes = 7;
constexpr size_t kChunkDigits = 17;
// Digits for a final chunk of n = 0…6 bytes: ceil(log10(2^(8n))), i.e. enough for the
// largest n-byte value (Chromium packs the same table into the nibbles of 0x0fda8530).
constexpr std::array<size_t, kChunkBytes> kPartialDigits = {0, 3, 5, 8, 10, 13, 15};

void append_chunk(std::string& out, ByteView chunk, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < chunk.size(); ++i) v |= uint64_t(chunk[i]) << (8 * i);
  out += fmt::format("{:0{}d}", v, width);
}

// Parses an all-digit group (already checked) of at most 17 digits; fits in uint64.
uint64_t parse_group(std::string_view group) {
  uint64_t v = 0;
  for (char c : group) v = v * 10 + uint64_t(c - '0');
  return v;
}

void append_le(Bytes& out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

size_t digits_length(size_t byte_count) {
  return kChunkDigits * (byte_count / kChunkBytes) + kPartialDigits[byte_count % kChunkBytes];
}

std::string digits_encode(ByteView bytes) {
  std::string out;
  out.reserve(digits_length(bytes.size()));
  size_t pos = 0;
  for (; bytes.size() - pos >= kChunkBytes; pos += kChunkBytes) {
    append_chunk(out, bytes.subspan(pos, kChunkBytes), kChunkDigits);
  }
  size_t rest = bytes.size() - pos;
  if (rest > 0) append_chunk(out, bytes.subspan(pos), kPartialDigits[rest]);
  return out;
}

Result<Bytes> digits_decode(std::string_view digits) {
  for (size_t i = 0; i < digits.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(digits[i]);
    if (c < '0' || c > '9') {
      return make_error(fmt::format(
          "character {} (byte 0x{:02x}) is not an ASCII digit 0-9", i,
          c));
    }
  }
  size_t full = digits.size() / kChunkDigits;
  size_t rest_digits = digits.size() % kChunkDigits;
  size_t rest_bytes = kChunkBytes;
  for (size_t n = 0; n < kPartialDigits.size(); ++n) {
    if (kPartialDigits[n] == rest_digits) rest_bytes = n;
  }
  if (rest_bytes == kChunkBytes) {
    return make_error(fmt::format(
        "{} digits leave a final group of {} digits; the digit count must be 17*k plus "
        "0, 3, 5, 8, 10, 13 or 15 (the QR code may be truncated)",
        digits.size(), rest_digits));
  }
  Bytes out;
  out.reserve(full * kChunkBytes + rest_bytes);
  for (size_t g = 0; g < full; ++g) {
    uint64_t v = parse_group(digits.substr(g * kChunkDigits, kChunkDigits));
    if (v >> (8 * kChunkBytes)) {
      return make_error(fmt::format(
          "the 17-digit group at character {} is out of range: it must be below 2^56 "
          "(7 bytes)",
          g * kChunkDigits));
    }
    append_le(out, v, kChunkBytes);
  }
  if (rest_bytes > 0) {
    uint64_t v = parse_group(digits.substr(full * kChunkDigits));
    if (v >> (8 * rest_bytes)) {
      return make_error(fmt::format(
          "the final {}-digit group at character {} is out of range: {} digits encode {} "
          "byte{}, so the value must be at most {}",
          rest_digits, full * kChunkDigits, rest_digits, rest_bytes, rest_bytes == 1 ? "" : "s",
          (uint64_t(1) << (8 * rest_bytes)) - 1));
    }
    append_le(out, v, rest_bytes);
  }
  return out;
}

}  // namespace hybrid::qr
