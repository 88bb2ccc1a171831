// Helpers for the strict CTAP decoders: typed access to CBOR members with errors that
// carry the right CTAP status (malformed CBOR → INVALID_CBOR, wrong type →
// CBOR_UNEXPECTED_TYPE, absent → MISSING_PARAMETER) and name the member.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/utf8.h"
#include "cbor/codec.h"
#include "cbor/value.h"
#include "ctap/commands.h"

namespace hybrid::ctap {

// Deepest nesting a CTAP message may have (Chromium's CTAP reader allows 16; a request's
// deepest member, an extension input such as prf.evalByCredential.<id>.first, is 5).
inline constexpr size_t kMaxCborDepth = 16;

// Decodes one canonical CBOR item filling all of `data`, with the depth bound.
Result<cbor::Value> decode_strict(ByteView data, std::string_view what);

Result<const cbor::Map*> as_map(const cbor::Value& v, std::string_view what);
Result<const cbor::Array*> as_array(const cbor::Value& v, std::string_view what);
Result<std::string> as_text(const cbor::Value& v, std::string_view what);
Result<Bytes> as_bytes(const cbor::Value& v, std::string_view what);
Result<bool> as_bool(const cbor::Value& v, std::string_view what);
Result<int64_t> as_int(const cbor::Value& v, std::string_view what);
Result<uint64_t> as_unsigned(const cbor::Value& v, std::string_view what);

// A present member or MISSING_PARAMETER naming it.
Result<const cbor::Value*> required(const cbor::Map& m, const cbor::Value& key, std::string_view what);
inline const cbor::Value* optional(const cbor::Map& m, const cbor::Value& key) { return m.find(key); }

// Typed optional members: nullopt when absent, an error when present with the wrong type.
Result<std::optional<std::string>> optional_text(const cbor::Map& m, const cbor::Value& key, std::string_view what);
Result<std::optional<Bytes>> optional_bytes(const cbor::Map& m, const cbor::Value& key, std::string_view what);
Result<std::optional<bool>> optional_bool(const cbor::Map& m, const cbor::Value& key, std::string_view what);
Result<std::optional<uint64_t>> optional_unsigned(const cbor::Map& m, const cbor::Value& key, std::string_view what);

// An array of text strings (versions, extensions, transports).
Result<std::vector<std::string>> as_text_array(const cbor::Value& v, std::string_view what);
cbor::Value text_array(const std::vector<std::string>& items);

}  // namespace hybrid::ctap
