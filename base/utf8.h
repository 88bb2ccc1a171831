// UTF-8 validation (RFC 3629): CTAP2 and the QR payload require valid text strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hybrid {

// False for overlong forms, UTF-16 surrogates, values above U+10FFFF and truncated or
// stray continuation bytes.
bool is_valid_utf8(std::string_view s);

// Decodes the UTF-8 sequence starting at s[i] (i < s.size()) into `cp`; returns its length
// (1-4), or 0 when it is not valid (bad lead or continuation byte, truncated, overlong,
// surrogate, above U+10FFFF). The one decoder behind is_valid_utf8 and printable().
size_t decode_utf8(std::string_view s, size_t i, uint32_t& cp);

}  // namespace hybrid
