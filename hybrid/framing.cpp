#include "hybrid/framing.h"

namespace hybrid {

std::string_view message_type_name(MessageType type) {
  switch (type) {
    case MessageType::shutdown: return "shutdown";
    case MessageType::ctap: return "ctap";
    case MessageType::update: return "update";
    case MessageType::json: return "json";
  }
  return "unknown";
}

Bytes encode_frame(MessageType type, ByteView payload) {
  Bytes out;
  out.reserve(payload.size() + 1);
  out.push_back(static_cast<uint8_t>(type));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<Frame> parse_frame(ByteView plaintext) {
  if (plaintext.empty()) return make_error("an empty channel message has no message type");
  if (plaintext[0] > static_cast<uint8_t>(MessageType::json)) {
    return make_error("unknown channel message type " + std::to_string(plaintext[0]));
  }
  return Frame{static_cast<MessageType>(plaintext[0]), Bytes(plaintext.begin() + 1, plaintext.end())};
}

}  // namespace hybrid
