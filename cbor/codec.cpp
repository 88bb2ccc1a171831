#include "cbor/codec.h"

#include "base/utf8.h"

#include <cbor.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <fmt/format.h>

namespace hybrid::cbor {
namespace {

// ---- encoding ---------------------------------------------------------------------------

void put_header(Bytes& out, uint8_t major, uint64_t n) {
  uint8_t mt = static_cast<uint8_t>(major << 5);
  if (n < 24) {
    out.push_back(mt | static_cast<uint8_t>(n));
  } else if (n <= 0xff) {
    out.push_back(mt | 24);
    out.push_back(static_cast<uint8_t>(n));
  } else if (n <= 0xffff) {
    out.push_back(mt | 25);
    for (int s = 8; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(n >> s));
  } else if (n <= 0xffffffffULL) {
    out.push_back(mt | 26);
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(n >> s));
  } else {
    out.push_back(mt | 27);
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(n >> s));
  }
}

void encode_into(Bytes& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::unsigned_int: put_header(out, 0, v.as_unsigned()); break;
    case Value::Type::negative_int:
      put_header(out, 1, static_cast<uint64_t>(-(v.as_int64() + 1)));
      break;
    case Value::Type::bytes:
      put_header(out, 2, v.as_bytes().size());
      out.insert(out.end(), v.as_bytes().begin(), v.as_bytes().end());
      break;
    case Value::Type::text:
      put_header(out, 3, v.as_text().size());
      out.insert(out.end(), v.as_text().begin(), v.as_text().end());
      break;
    case Value::Type::array:
      put_header(out, 4, v.as_array().size());
      for (const auto& item : v.as_array()) encode_into(out, item);
      break;
    case Value::Type::map: {
      const Map& m = v.as_map();
      std::vector<std::pair<Bytes, const Value*>> entries;
      entries.reserve(m.size());
      for (const auto& [key, value] : m) entries.emplace_back(encode(key), &value);
      // CTAP2 canonical order: shorter encodings first, then bytewise.
      std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        if (a.first.size() != b.first.size()) return a.first.size() < b.first.size();
        return a.first < b.first;
      });
      put_header(out, 5, entries.size());
      for (const auto& [key, value] : entries) {
        out.insert(out.end(), key.begin(), key.end());
        encode_into(out, *value);
      }
      break;
    }
    case Value::Type::boolean: out.push_back(v.as_bool() ? 0xf5 : 0xf4); break;
    case Value::Type::null: out.push_back(0xf6); break;
  }
}

// ---- decoding ---------------------------------------------------------------------------

struct Frame {
  bool is_map = false;
  uint64_t remaining = 0;  // items still to come (for a map: keys + values)
  Array items;
  Map map;
  std::optional<Value> pending_key;
};

struct Builder {
  const DecodeOptions* options = nullptr;
  std::vector<Frame> stack;
  std::optional<Value> result;
  std::string error;
  size_t offset = 0;      // where the current header starts
  size_t remaining = 0;   // bytes after the current header

  void fail(std::string message) {
    if (error.empty()) error = fmt::format("byte {}: {}", offset, message);
  }

  void emit(Value v) {
    if (!error.empty()) return;
    if (stack.empty()) {
      result = std::move(v);
      return;
    }
    Frame& f = stack.back();
    if (f.is_map) {
      if (!f.pending_key) {
        f.pending_key = std::move(v);
      } else {
        f.map.append_unchecked(std::move(*f.pending_key), std::move(v));
        f.pending_key.reset();
      }
    } else {
      f.items.push_back(std::move(v));
    }
    if (--f.remaining == 0) close_top();
  }

  void close_top() {
    Frame f = std::move(stack.back());
    stack.pop_back();
    if (f.is_map) {
      std::vector<Bytes> keys;
      for (const auto& e : f.map) keys.push_back(encode(e.first));
      std::sort(keys.begin(), keys.end());
      if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
        fail("map has a duplicate key");
        return;
      }
      emit(Value(std::move(f.map)));
    } else {
      emit(Value(std::move(f.items)));
    }
  }

  void open(bool is_map, uint64_t count) {
    if (stack.size() + 1 > options->max_depth) {
      fail(fmt::format("nesting deeper than {} levels", options->max_depth));
      return;
    }
    uint64_t items = is_map ? count * 2 : count;
    if ((is_map && count > (UINT64_MAX / 2)) || items > remaining) {
      fail(fmt::format("{} declares {} entries but only {} bytes follow",
                       is_map ? "map" : "array", count, remaining));
      return;
    }
    if (items == 0) {
      emit(is_map ? Value(Map{}) : Value(Array{}));
      return;
    }
    Frame f;
    f.is_map = is_map;
    f.remaining = items;
    stack.push_back(std::move(f));
  }
};

Builder* B(void* ctx) { return static_cast<Builder*>(ctx); }

void on_uint8(void* c, uint8_t v) { B(c)->emit(Value(uint64_t(v))); }
void on_uint16(void* c, uint16_t v) { B(c)->emit(Value(uint64_t(v))); }
void on_uint32(void* c, uint32_t v) { B(c)->emit(Value(uint64_t(v))); }
void on_uint64(void* c, uint64_t v) { B(c)->emit(Value(v)); }
void on_negint(void* c, uint64_t v) {
  if (v > uint64_t(INT64_MAX)) {
    B(c)->fail("negative integer below -2^63 is not supported");
    return;
  }
  B(c)->emit(Value(-1 - static_cast<int64_t>(v)));
}
void on_negint8(void* c, uint8_t v) { on_negint(c, v); }
void on_negint16(void* c, uint16_t v) { on_negint(c, v); }
void on_negint32(void* c, uint32_t v) { on_negint(c, v); }
void on_bytes(void* c, cbor_data d, size_t n) { B(c)->emit(Value(Bytes(d, d + n))); }
void on_text(void* c, cbor_data d, size_t n) {
  if (!is_valid_utf8(std::string_view(reinterpret_cast<const char*>(d), n))) {
    B(c)->fail("text string is not valid UTF-8");
    return;
  }
  B(c)->emit(Value(std::string(reinterpret_cast<const char*>(d), n)));
}
void on_array(void* c, size_t n) { B(c)->open(false, n); }
void on_map(void* c, size_t n) { B(c)->open(true, n); }
void on_bool(void* c, bool v) { B(c)->emit(Value(v)); }
void on_null(void* c) { B(c)->emit(Value::null()); }
void on_indefinite(void* c) { B(c)->fail("indefinite-length items are not allowed"); }
void on_tag(void* c, uint64_t) { B(c)->fail("tags are not allowed"); }
void on_float(void* c, float) { B(c)->fail("floating-point numbers are not allowed"); }
void on_double(void* c, double) { B(c)->fail("floating-point numbers are not allowed"); }
void on_undefined(void* c) { B(c)->fail("'undefined' is not allowed"); }

cbor_callbacks make_callbacks() {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.uint8 = on_uint8;
  cb.uint16 = on_uint16;
  cb.uint32 = on_uint32;
  cb.uint64 = on_uint64;
  cb.negint8 = on_negint8;
  cb.negint16 = on_negint16;
  cb.negint32 = on_negint32;
  cb.negint64 = on_negint;
  cb.byte_string = on_bytes;
  cb.byte_string_start = on_indefinite;
  cb.string = on_text;
  cb.string_start = on_indefinite;
  cb.array_start = on_array;
  cb.indef_array_start = on_indefinite;
  cb.map_start = on_map;
  cb.indef_map_start = on_indefinite;
  cb.tag = on_tag;
  cb.float2 = on_float;
  cb.float4 = on_float;
  cb.float8 = on_double;
  cb.undefined = on_undefined;
  cb.null = on_null;
  cb.boolean = on_bool;
  cb.indef_break = on_indefinite;
  return cb;
}

}  // namespace

Bytes encode(const Value& value) {
  Bytes out;
  encode_into(out, value);
  return out;
}

Result<Decoded> decode_prefix(ByteView data, const DecodeOptions& options) {
  static const cbor_callbacks kCallbacks = make_callbacks();
  Builder b;
  b.options = &options;
  size_t pos = 0;
  while (!b.result && b.error.empty()) {
    if (pos >= data.size()) {
      return make_error(pos == 0 ? "CBOR input is empty"
                                 : fmt::format("CBOR input ends early at byte {}", pos));
    }
    b.offset = pos;
    b.remaining = data.size() - pos;  // an upper bound for what follows this header
    auto r = cbor_stream_decode(data.data() + pos, data.size() - pos, &kCallbacks, &b);
    if (r.status == CBOR_DECODER_NEDATA) {
      return make_error(fmt::format("CBOR input ends early: the item at byte {} needs {} bytes", pos,
                                    r.required));
    }
    if (r.status == CBOR_DECODER_ERROR) {
      return make_error(fmt::format("byte {}: malformed CBOR (reserved or invalid header 0x{:02x})",
                                    pos, data[pos]));
    }
    pos += r.read;
    if (!b.error.empty()) break;
  }
  if (!b.error.empty()) return make_error(b.error);
  if (!options.allow_trailing && pos != data.size()) {
    return make_error(fmt::format("{} trailing bytes after the CBOR item", data.size() - pos));
  }
  if (options.require_canonical) {
    Bytes again = encode(*b.result);
    if (again.size() != pos || !std::equal(again.begin(), again.end(), data.begin())) {
      return make_error("CBOR is not in CTAP2 canonical form (non-shortest encoding or map keys out of order)");
    }
  }
  return Decoded{std::move(*b.result), pos};
}

Result<Value> decode(ByteView data, const DecodeOptions& options) {
  HYBRID_TRY(auto d, decode_prefix(data, options));
  return std::move(d.value);
}

namespace {
void diag_into(std::string& out, const Value& v, size_t max_bytes) {
  switch (v.type()) {
    case Value::Type::unsigned_int: out += std::to_string(v.as_unsigned()); break;
    case Value::Type::negative_int: out += std::to_string(v.as_int64()); break;
    case Value::Type::bytes: {
      const Bytes& b = v.as_bytes();
      if (b.size() > max_bytes) {
        out += fmt::format("h'{}…'({} bytes)", hex_encode(ByteView(b).first(max_bytes)), b.size());
      } else {
        out += "h'" + hex_encode(b) + "'";
      }
      break;
    }
    case Value::Type::text: out += "\"" + v.as_text() + "\""; break;
    case Value::Type::array: {
      out += "[";
      bool first = true;
      for (const auto& i : v.as_array()) {
        if (!first) out += ", ";
        first = false;
        diag_into(out, i, max_bytes);
      }
      out += "]";
      break;
    }
    case Value::Type::map: {
      out += "{";
      bool first = true;
      for (const auto& [k, val] : v.as_map()) {
        if (!first) out += ", ";
        first = false;
        diag_into(out, k, max_bytes);
        out += ": ";
        diag_into(out, val, max_bytes);
      }
      out += "}";
      break;
    }
    case Value::Type::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Value::Type::null: out += "null"; break;
  }
}
}  // namespace

std::string to_diagnostic(const Value& value, size_t max_bytes) {
  std::string out;
  diag_into(out, value, max_bytes);
  return out;
}

}  // namespace hybrid::cbor
