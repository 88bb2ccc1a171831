// §9.3: revision-1 framing: every channel message after the post-handshake message starts
// with a one-byte message type.
#pragma once

#include "base/bytes.h"

namespace hybrid {

enum class MessageType : uint8_t {
  shutdown = 0,  // client → phone only, no payload
  ctap = 1,      // client: cmd ‖ CBOR; phone: status ‖ CBOR
  update = 2,    // phone → client: CBOR map (linking)
  json = 3,      // digital credentials
};

std::string_view message_type_name(MessageType type);

struct Frame {
  MessageType type = MessageType::ctap;
  Bytes payload;
};

Bytes encode_frame(MessageType type, ByteView payload);
// Fails on an empty message and on unknown types (> 3), which Chromium closes on.
Result<Frame> parse_frame(ByteView plaintext);

}  // namespace hybrid
