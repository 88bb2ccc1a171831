// §9.2: the 32-byte padding inside every encrypted channel message, and §9.4's padded
// CBOR map of the revision-0 post-handshake message.
#pragma once

#include <optional>

#include "base/bytes.h"

namespace hybrid {

// message ‖ 0x00 × z ‖ byte(z), z = 31 − (len mod 32): a multiple of 32, at least 1 byte added.
Bytes pad_message(ByteView message);
// Reads z from the last byte and drops z + 1 bytes. Fails on empty input or z + 1 > len.
Result<Bytes> unpad_message(ByteView padded);

// Revision 0: cbor ‖ zeros ‖ uint16_le(number of zeros), total a multiple of 512.
Bytes pad_post_handshake_map(ByteView map_cbor);
// The CBOR bytes under the 16-bit trailer (length a multiple of 512), if it fits.
std::optional<Bytes> unpad_post_handshake_map16(ByteView padded);
// The CBOR bytes under the old (pre-M99) 8-bit trailer (length a multiple of 256).
std::optional<Bytes> unpad_post_handshake_map8(ByteView padded);

}  // namespace hybrid
