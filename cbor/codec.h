// CTAP2 canonical CBOR: an encoder that always writes canonical form, and a strict decoder
// that accepts only what it would itself write (libcbor's loader accepts far more; see
// ../shared/spec/libcbor-notes.md).
#pragma once

#include "base/bytes.h"
#include "cbor/value.h"

namespace hybrid::cbor {

// Canonical CTAP2 encoding: shortest integer and length forms, definite lengths, map keys
// sorted by encoded length then bytewise (so integer keys ascend and "alg" < "type").
Bytes encode(const Value& value);

struct DecodeOptions {
  // Deepest nesting of arrays and maps accepted (Chromium's reader allows 16).
  size_t max_depth = 16;
  // Reject input that is not byte-identical to its canonical re-encoding (non-shortest
  // forms, unsorted keys). Duplicate keys, indefinite lengths, tags, floats, undefined and
  // trailing bytes are rejected either way.
  bool require_canonical = true;
  // Allow bytes after the item (the caller gets how many were used).
  bool allow_trailing = false;
};

struct Decoded {
  Value value;
  size_t consumed = 0;
};

// Decodes exactly one item. Errors say what is wrong and where ("byte 12: …").
Result<Value> decode(ByteView data, const DecodeOptions& options = {});
Result<Decoded> decode_prefix(ByteView data, const DecodeOptions& options = {});

// Diagnostic notation for logs and the CLI: {1: h'0102', 2: "ga"}. Byte strings longer
// than `max_bytes` are shortened.
std::string to_diagnostic(const Value& value, size_t max_bytes = 64);

}  // namespace hybrid::cbor
