// §7.2: the client payload of a /cable/contact request (the linked flow): which link,
// a fresh client nonce, and the request type, as canonical CBOR in a hex header.
#pragma once

#include <string>

#include "hybrid/ids.h"

namespace hybrid {

struct ClientPayload {
  Bytes link_id;            // linking map key 2 (8 bytes from Chromium phones)
  ClientNonce client_nonce;
  std::string request_hint = "ga";  // "ga" or "mc" (Google's parser rejects anything else)

  Bytes encode() const;                       // CBOR {1: link_id, 2: nonce, 3: hint}
  std::string header_value() const;           // upper-case hex, as Chromium writes it
  static Result<ClientPayload> parse(ByteView cbor);
  static Result<ClientPayload> parse_header(std::string_view hex);
};

}  // namespace hybrid
