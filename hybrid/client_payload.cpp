#include "hybrid/client_payload.h"

#include "cbor/codec.h"

namespace hybrid {

Bytes ClientPayload::encode() const {
  cbor::Map m;
  m.set(1, link_id);
  m.set(2, client_nonce.bytes);
  m.set(3, request_hint);
  return cbor::encode(cbor::Value(m));
}

std::string ClientPayload::header_value() const { return hex_encode_upper(encode()); }

Result<ClientPayload> ClientPayload::parse(ByteView bytes) {
  auto v = cbor::decode(bytes);
  if (!v) return v.error().with_context("client payload");
  if (!v->is_map()) return make_error("client payload is not a CBOR map");
  const auto& m = v->as_map();
  const auto* link = m.find(1);
  const auto* nonce = m.find(2);
  const auto* hint = m.find(3);
  if (!link || !link->is_bytes()) return make_error("client payload lacks the link ID byte string (key 1)");
  if (!nonce || !nonce->is_bytes()) return make_error("client payload lacks the client nonce byte string (key 2)");
  if (!hint || !hint->is_text()) return make_error("client payload lacks the request type text (key 3)");
  if (hint->as_text() != "ga" && hint->as_text() != "mc") {
    return make_error("client payload's request type must be \"ga\" or \"mc\", got \"" + hint->as_text() + "\"");
  }
  ClientPayload p;
  p.link_id = link->as_bytes();
  HYBRID_TRY(p.client_nonce, ClientNonce::from(nonce->as_bytes(), "client payload's client nonce"));
  p.request_hint = hint->as_text();
  return p;
}

Result<ClientPayload> ClientPayload::parse_header(std::string_view hex) {
  auto b = hex_decode(hex);
  if (!b) return b.error().with_context("X-caBLE-Client-Payload header");
  return parse(*b);
}

}  // namespace hybrid
