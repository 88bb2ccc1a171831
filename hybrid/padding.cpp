#include "hybrid/padding.h"

#include "hybrid/constants.h"

namespace hybrid {

Bytes pad_message(ByteView message) {
  size_t z = kPaddingGranularity - 1 - (message.size() % kPaddingGranularity);
  Bytes out(message.begin(), message.end());
  out.resize(message.size() + z, 0);
  out.push_back(static_cast<uint8_t>(z));
  return out;
}

Result<Bytes> unpad_message(ByteView padded) {
  if (padded.empty()) return make_error("an encrypted message decrypted to nothing (no padding byte)");
  size_t z = padded.back();
  if (z + 1 > padded.size()) {
    return make_error("an encrypted message's padding length (" + std::to_string(z) +
                      ") is longer than the message (" + std::to_string(padded.size()) + " bytes)");
  }
  return Bytes(padded.begin(), padded.end() - static_cast<ptrdiff_t>(z + 1));
}

Bytes pad_post_handshake_map(ByteView map_cbor) {
  size_t total = map_cbor.size() + 2;
  total = (total + kPostHandshakePaddingGranularity - 1) / kPostHandshakePaddingGranularity *
          kPostHandshakePaddingGranularity;
  size_t zeros = total - 2 - map_cbor.size();
  Bytes out(map_cbor.begin(), map_cbor.end());
  out.resize(map_cbor.size() + zeros, 0);
  out.push_back(static_cast<uint8_t>(zeros));
  out.push_back(static_cast<uint8_t>(zeros >> 8));
  return out;
}

std::optional<Bytes> unpad_post_handshake_map16(ByteView padded) {
  if (padded.size() < 2 || padded.size() % kPostHandshakePaddingGranularity != 0) return std::nullopt;
  size_t zeros = padded[padded.size() - 2] | size_t(padded[padded.size() - 1]) << 8;
  if (zeros + 2 > padded.size()) return std::nullopt;
  return Bytes(padded.begin(), padded.end() - static_cast<ptrdiff_t>(zeros + 2));
}

std::optional<Bytes> unpad_post_handshake_map8(ByteView padded) {
  if (padded.empty() || padded.size() % kOldPostHandshakePaddingGranularity != 0) return std::nullopt;
  size_t zeros = padded.back();
  if (zeros + 1 > padded.size()) return std::nullopt;
  return Bytes(padded.begin(), padded.end() - static_cast<ptrdiff_t>(zeros + 1));
}

}  // namespace hybrid
