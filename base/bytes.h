// Byte strings, their text forms (hex, base64url) and secrets that wipe themselves.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace hybrid {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
template <size_t N>
using ByteArray = std::array<uint8_t, N>;

inline ByteView as_bytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline Bytes to_bytes(std::string_view s) {
  auto v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}
inline Bytes to_bytes(ByteView v) { return Bytes(v.begin(), v.end()); }
inline std::string to_string(ByteView v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

// Concatenates any number of byte ranges.
template <class... Views>
Bytes concat(const Views&... parts) {
  Bytes out;
  out.reserve((std::size(parts) + ... + 0));
  (out.insert(out.end(), std::begin(parts), std::end(parts)), ...);
  return out;
}

// Copies exactly N bytes into an array; an error names `what` when the size differs.
template <size_t N>
Result<ByteArray<N>> to_array(ByteView v, std::string_view what) {
  if (v.size() != N) {
    return make_error(std::string(what) + " must be " + std::to_string(N) + " bytes, got " +
                      std::to_string(v.size()));
  }
  ByteArray<N> out{};
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

std::string hex_encode(ByteView v);        // lower-case
std::string hex_encode_upper(ByteView v);  // upper-case (Chromium's wire form)
// Accepts either case; rejects odd lengths and non-hex characters.
Result<Bytes> hex_decode(std::string_view s);

// base64url without padding (RFC 4648 §5), as WebAuthn and the tunnel's contact path use.
std::string base64url_encode(ByteView v);
// Accepts base64url with or without '=' padding; rejects other alphabets and bad lengths.
Result<Bytes> base64url_decode(std::string_view s);

// Compares without leaking where the first difference is. Different sizes compare false.
bool constant_time_equal(ByteView a, ByteView b);

// Overwrites memory in a way the compiler does not remove.
void secure_wipe(void* p, size_t n);

// A byte string holding key material: wiped when destroyed or reassigned, never printed.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(ByteView v) : data_(v.begin(), v.end()) {}
  explicit SecretBytes(Bytes&& v) : data_(std::move(v)) {}
  SecretBytes(const SecretBytes& o) : data_(o.data_) {}
  SecretBytes(SecretBytes&& o) noexcept : data_(std::move(o.data_)) { o.data_.clear(); }
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) {
      wipe();
      data_ = o.data_;
    }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      wipe();
      data_ = std::move(o.data_);
      o.data_.clear();
    }
    return *this;
  }
  ~SecretBytes() { wipe(); }

  ByteView view() const { return data_; }
  const uint8_t* data() const { return data_.data(); }
  uint8_t* data() { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  void wipe() {
    if (!data_.empty()) secure_wipe(data_.data(), data_.size());
    data_.clear();
  }
  operator ByteView() const { return data_; }  // NOLINT: convenient and harmless

 private:
  Bytes data_;
};

}  // namespace hybrid
