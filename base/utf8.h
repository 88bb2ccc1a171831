// UTF-8 validation (RFC 3629): CTAP2 and the QR payload require valid text strings.
#pragma once

#include <string_view>

namespace hybrid {

// False for overlong forms, UTF-16 surrogates, values above U+10FFFF and truncated or
// stray continuation bytes.
bool is_valid_utf8(std::string_view s);

}  // namespace hybrid
