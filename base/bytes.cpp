#include "base/bytes.h"

#include <openssl/crypto.h>

namespace hybrid {
namespace {

std::string hex_with(ByteView v, const char* digits) {
  std::string out;
  out.reserve(v.size() * 2);
  for (uint8_t b : v) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kBase64Url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string hex_encode(ByteView v) { return hex_with(v, "0123456789abcdef"); }
std::string hex_encode_upper(ByteView v) { return hex_with(v, "0123456789ABCDEF"); }

Result<Bytes> hex_decode(std::string_view s) {
  if (s.size() % 2 != 0) {
    return make_error("hex text has an odd number of digits (" + std::to_string(s.size()) + ")");
  }
  Bytes out(s.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(s[2 * i]);
    int lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error("hex text has a non-hex character at position " +
                        std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string base64url_encode(ByteView v) {
  std::string out;
  out.reserve((v.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= v.size(); i += 3) {
    uint32_t n = uint32_t(v[i]) << 16 | uint32_t(v[i + 1]) << 8 | v[i + 2];
    out.push_back(kBase64Url[n >> 18 & 63]);
    out.push_back(kBase64Url[n >> 12 & 63]);
    out.push_back(kBase64Url[n >> 6 & 63]);
    out.push_back(kBase64Url[n & 63]);
  }
  size_t rest = v.size() - i;
  if (rest == 1) {
    uint32_t n = uint32_t(v[i]) << 16;
    out.push_back(kBase64Url[n >> 18 & 63]);
    out.push_back(kBase64Url[n >> 12 & 63]);
  } else if (rest == 2) {
    uint32_t n = uint32_t(v[i]) << 16 | uint32_t(v[i + 1]) << 8;
    out.push_back(kBase64Url[n >> 18 & 63]);
    out.push_back(kBase64Url[n >> 12 & 63]);
    out.push_back(kBase64Url[n >> 6 & 63]);
  }
  return out;
}

Result<Bytes> base64url_decode(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  if (s.size() % 4 == 1) return make_error("base64url text has an impossible length");
  Bytes out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    int v = base64url_value(s[i]);
    if (v < 0) {
      return make_error("base64url text has an invalid character at position " +
                        std::to_string(i));
    }
    acc = acc << 6 | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return make_error("base64url text has non-zero trailing bits");
  }
  return out;
}

bool constant_time_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void secure_wipe(void* p, size_t n) { OPENSSL_cleanse(p, n); }

}  // namespace hybrid
