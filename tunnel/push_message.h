// The push channel's one server -> phone message (docs/tunnel.md "Push channel"): when a
// client contacts a linked phone via /cable/contact/<id>, the server picks a tunnel and
// sends the phone's open /cable/push/<id> socket one binary message, a canonical CBOR map
//   {1: tunnel id (16-byte bstr), 2: routing id (3-byte bstr), 3: client payload (bstr)}
// The phone then joins with /cable/connect/<routing id>/<tunnel id>. An empty binary
// message either way is a keepalive (the server answers the phone's with one of its own).
#pragma once

#include "base/bytes.h"
#include "hybrid/ids.h"

namespace hybrid::tunnel {

struct PushMessage {
  TunnelId tunnel_id;
  RoutingId routing_id;
  Bytes client_payload;  // the CBOR client payload bytes (§7.2), as the client sent them
};

// Client payloads larger than this are refused (a real one is about 40 bytes).
inline constexpr size_t kMaxClientPayloadSize = 1024;

Bytes encode_push_message(const PushMessage& message);
// Strict: canonical CBOR, exactly keys 1, 2 and 3 with the right types and sizes.
Result<PushMessage> decode_push_message(ByteView bytes);

}  // namespace hybrid::tunnel
