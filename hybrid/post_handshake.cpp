#include "hybrid/post_handshake.h"

#include <algorithm>

#include "cbor/codec.h"
#include "hybrid/padding.h"

namespace hybrid {

bool PostHandshakeMessage::supports_ctap() const {
  return std::find(features.begin(), features.end(), "ctap") != features.end();
}

Bytes encode_post_handshake(const Bytes& get_info, const std::vector<std::string>& features) {
  cbor::Map m;
  m.set(1, get_info);
  if (!features.empty()) {
    cbor::Array a;
    for (const auto& f : features) a.push_back(cbor::Value(f));
    m.set(3, a);
  }
  return cbor::encode(cbor::Value(m));
}

Bytes encode_post_handshake_rev0(const Bytes& get_info, const std::optional<cbor::Value>& linking_map) {
  cbor::Map m;
  m.set(1, get_info);
  if (linking_map) m.set(2, *linking_map);
  return pad_post_handshake_map(cbor::encode(cbor::Value(m)));
}

namespace {

Result<PostHandshakeMessage> from_map(const cbor::Map& map, int revision) {
  PostHandshakeMessage msg;
  msg.revision = revision;
  if (const auto* f = map.find(3)) {
    if (!f->is_array()) return make_error("the post-handshake message's feature list (key 3) is not an array");
    msg.features_present = true;
    for (const auto& item : f->as_array()) {
      if (item.is_text()) msg.features.push_back(item.as_text());
    }
  } else {
    msg.features = {"ctap"};
  }
  const auto* info = map.find(1);
  if (msg.supports_ctap()) {
    if (!info || !info->is_bytes()) {
      return make_error("the phone supports CTAP but its post-handshake message has no getInfo byte string (key 1)");
    }
    msg.get_info = info->as_bytes();
  } else if (info) {
    return make_error("the post-handshake message carries getInfo (key 1) without the \"ctap\" feature");
  }
  if (const auto* l = map.find(2)) {
    if (revision == 0) msg.linking_map = *l;
  }
  return msg;
}

}  // namespace

Result<PostHandshakeMessage> parse_post_handshake(ByteView plaintext) {
  auto strict = cbor::decode(plaintext);
  if (strict) {
    if (!strict->is_map()) return make_error("the post-handshake message is CBOR but not a map");
    return from_map(strict->as_map(), 1);
  }
  // Revision 0 maps came from Chromium's canonical writer too, but be lenient about the
  // padding interpretation: try the 16-bit trailer, then the 8-bit one.
  for (auto candidate : {unpad_post_handshake_map16(plaintext), unpad_post_handshake_map8(plaintext)}) {
    if (!candidate) continue;
    auto v = cbor::decode(*candidate);
    if (v && v->is_map()) return from_map(v->as_map(), 0);
  }
  return make_error("the post-handshake message is neither a CBOR map nor a padded CBOR map (" +
                    std::to_string(plaintext.size()) + " bytes): " + strict.error().message);
}

}  // namespace hybrid
