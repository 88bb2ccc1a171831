// §9.4: the phone's first encrypted message (the "post-handshake message"): its getInfo
// response and the features it supports; revision 1 is a plain canonical CBOR map,
// revision 0 (2021 phones) a map padded to 512 (or, before M99, 256) bytes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cbor/value.h"

namespace hybrid {

struct PostHandshakeMessage {
  int revision = 1;
  std::optional<Bytes> get_info;          // key 1: getInfo response CBOR (no status byte)
  std::vector<std::string> features;      // key 3; absent on the wire ⇒ {"ctap"}
  bool features_present = false;          // whether key 3 was on the wire
  std::optional<cbor::Value> linking_map;  // key 2 (revision 0 only)

  bool supports_ctap() const;
};

// Revision 1: {1: getInfo, 3: features} (key 3 omitted when `features` is empty).
Bytes encode_post_handshake(const Bytes& get_info, const std::vector<std::string>& features);
// Revision 0 encoding (for tests and for emulating 2021 phones).
Bytes encode_post_handshake_rev0(const Bytes& get_info, const std::optional<cbor::Value>& linking_map);

// Chromium's client rules: a strict CBOR map ⇒ revision 1, else a padded map ⇒
// revision 0; key 3 if present must be an array (non-strings ignored); with CTAP, key 1
// must be a byte string; without CTAP, key 1 must be absent.
Result<PostHandshakeMessage> parse_post_handshake(ByteView plaintext);

}  // namespace hybrid
