#include "tunnel/push_message.h"

#include "cbor/codec.h"
#include "cbor/value.h"

namespace hybrid::tunnel {

Bytes encode_push_message(const PushMessage& message) {
  cbor::Map map;
  map.set(1, cbor::Value(message.tunnel_id.bytes));
  map.set(2, cbor::Value(message.routing_id.bytes));
  map.set(3, cbor::Value(message.client_payload));
  return cbor::encode(cbor::Value(std::move(map)));
}

Result<PushMessage> decode_push_message(ByteView bytes) {
  auto decoded = cbor::decode(bytes);
  if (!decoded) return decoded.error().with_context("push message");
  if (!decoded->is_map()) {
    return make_error("push message must be a CBOR map, got " + decoded->type_name());
  }
  const auto& map = decoded->as_map();
  if (map.size() != 3) {
    return make_error("push message must have exactly keys 1, 2 and 3, got " +
                      std::to_string(map.size()) + " entries");
  }
  const auto* tunnel = map.find(1);
  const auto* routing = map.find(2);
  const auto* payload = map.find(3);
  if (!tunnel || !routing || !payload || !tunnel->is_bytes() || !routing->is_bytes() ||
      !payload->is_bytes()) {
    return make_error("push message keys 1, 2 and 3 must all be byte strings");
  }
  HYBRID_TRY(auto tunnel_id, TunnelId::from(tunnel->as_bytes(), "push message tunnel id"));
  HYBRID_TRY(auto routing_id, RoutingId::from(routing->as_bytes(), "push message routing id"));
  if (payload->as_bytes().size() > kMaxClientPayloadSize) {
    return make_error("push message client payload is " +
                      std::to_string(payload->as_bytes().size()) + " bytes, more than " +
                      std::to_string(kMaxClientPayloadSize));
  }
  return PushMessage{tunnel_id, routing_id, payload->as_bytes()};
}

}  // namespace hybrid::tunnel
