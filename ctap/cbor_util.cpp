#include "ctap/cbor_util.h"

#include <fmt/format.h>

namespace hybrid::ctap {

Result<cbor::Value> decode_strict(ByteView data, std::string_view what) {
  cbor::DecodeOptions options;
  options.max_depth = kMaxCborDepth;
  options.require_canonical = true;
  options.allow_trailing = false;
  auto v = cbor::decode(data, options);
  if (!v.ok()) return ctap_error(StatusCode::invalid_cbor, fmt::format("{}: {}", what, v.error().message));
  return std::move(v).value();
}

namespace {
Error wrong_type(const cbor::Value& v, std::string_view what, std::string_view expected) {
  return ctap_error(StatusCode::cbor_unexpected_type,
                    fmt::format("{} must be {}, got {}", what, expected, v.type_name()));
}
}  // namespace

Result<const cbor::Map*> as_map(const cbor::Value& v, std::string_view what) {
  if (!v.is_map()) return wrong_type(v, what, "a map");
  return &v.as_map();
}

Result<const cbor::Array*> as_array(const cbor::Value& v, std::string_view what) {
  if (!v.is_array()) return wrong_type(v, what, "an array");
  return &v.as_array();
}

Result<std::string> as_text(const cbor::Value& v, std::string_view what) {
  if (!v.is_text()) return wrong_type(v, what, "a text string");
  if (!hybrid::is_valid_utf8(v.as_text())) {  // the decoder checks too; values built in code may not
    return ctap_error(StatusCode::invalid_parameter, fmt::format("{} is not valid UTF-8", what));
  }
  return v.as_text();
}

Result<Bytes> as_bytes(const cbor::Value& v, std::string_view what) {
  if (!v.is_bytes()) return wrong_type(v, what, "a byte string");
  return v.as_bytes();
}

Result<bool> as_bool(const cbor::Value& v, std::string_view what) {
  if (!v.is_bool()) return wrong_type(v, what, "a boolean");
  return v.as_bool();
}

Result<int64_t> as_int(const cbor::Value& v, std::string_view what) {
  if (!v.is_integer()) return wrong_type(v, what, "an integer");
  if (!v.fits_int64()) {
    return ctap_error(StatusCode::invalid_parameter, fmt::format("{} is out of range", what));
  }
  return v.as_int64();
}

Result<uint64_t> as_unsigned(const cbor::Value& v, std::string_view what) {
  if (!v.is_unsigned()) return wrong_type(v, what, "an unsigned integer");
  return v.as_unsigned();
}

Result<const cbor::Value*> required(const cbor::Map& m, const cbor::Value& key, std::string_view what) {
  const cbor::Value* v = m.find(key);
  if (!v) return ctap_error(StatusCode::missing_parameter, fmt::format("{} is missing", what));
  return v;
}

Result<std::optional<std::string>> optional_text(const cbor::Map& m, const cbor::Value& key,
                                                 std::string_view what) {
  const cbor::Value* v = m.find(key);
  if (!v) return std::optional<std::string>{};
  HYBRID_TRY(auto s, as_text(*v, what));
  return std::optional<std::string>{std::move(s)};
}

Result<std::optional<Bytes>> optional_bytes(const cbor::Map& m, const cbor::Value& key,
                                            std::string_view what) {
  const cbor::Value* v = m.find(key);
  if (!v) return std::optional<Bytes>{};
  HYBRID_TRY(auto b, as_bytes(*v, what));
  return std::optional<Bytes>{std::move(b)};
}

Result<std::optional<bool>> optional_bool(const cbor::Map& m, const cbor::Value& key,
                                          std::string_view what) {
  const cbor::Value* v = m.find(key);
  if (!v) return std::optional<bool>{};
  HYBRID_TRY(bool b, as_bool(*v, what));
  return std::optional<bool>{b};
}

Result<std::optional<uint64_t>> optional_unsigned(const cbor::Map& m, const cbor::Value& key,
                                                  std::string_view what) {
  const cbor::Value* v = m.find(key);
  if (!v) return std::optional<uint64_t>{};
  HYBRID_TRY(uint64_t u, as_unsigned(*v, what));
  return std::optional<uint64_t>{u};
}

Result<std::vector<std::string>> as_text_array(const cbor::Value& v, std::string_view what) {
  HYBRID_TRY(const cbor::Array* a, as_array(v, what));
  std::vector<std::string> out;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size(); ++i) {
    HYBRID_TRY(auto s, as_text((*a)[i], fmt::format("{}[{}]", what, i)));
    out.push_back(std::move(s));
  }
  return out;
}

cbor::Value text_array(const std::vector<std::string>& items) {
  cbor::Array a;
  a.reserve(items.size());
  for (const auto& s : items) a.emplace_back(s);
  return cbor::Value(std::move(a));
}

}  // namespace hybrid::ctap
