// A CBOR data item as CTAP2 uses it: integers, byte and text strings, arrays, maps,
// booleans and null. No floats, tags or undefined: CTAP2 canonical CBOR has none.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/bytes.h"

namespace hybrid::cbor {

class Value;
using Array = std::vector<Value>;

// Map entries in insertion order; the encoder sorts them canonically.
class Map {
 public:
  using Entry = std::pair<Value, Value>;
  Map() = default;
  Map(std::initializer_list<Entry> entries);

  // Sets key to value, replacing an existing entry with an equal key.
  Map& set(Value key, Value value);
  const Value* find(int64_t key) const;
  const Value* find(std::string_view key) const;
  const Value* find(const Value& key) const;

  using const_iterator = std::vector<Entry>::const_iterator;
  size_t size() const;
  bool empty() const;
  const_iterator begin() const;
  const_iterator end() const;
  bool operator==(const Map& o) const;
  // Appends without looking for an equal key (the decoder checks duplicates itself).
  void append_unchecked(Value key, Value value);

 private:
  std::vector<Entry> entries_;
};

class Value {
 public:
  enum class Type { unsigned_int, negative_int, bytes, text, array, map, boolean, null };

  Value() : v_(Null{}) {}
  Value(int v) : Value(static_cast<int64_t>(v)) {}             // NOLINT: literals as keys
  Value(int64_t v);                                             // NOLINT
  Value(uint64_t v) : v_(v) {}                                  // NOLINT
  Value(const char* s) : v_(std::string(s)) {}                  // NOLINT
  Value(std::string s) : v_(std::move(s)) {}                    // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}             // NOLINT
  Value(Bytes b) : v_(std::move(b)) {}                          // NOLINT
  Value(ByteView b) : v_(Bytes(b.begin(), b.end())) {}          // NOLINT
  Value(Array a) : v_(std::move(a)) {}                          // NOLINT
  Value(Map m) : v_(std::move(m)) {}                            // NOLINT
  Value(bool b) : v_(b) {}                                      // NOLINT
  static Value null() { return Value(); }
  template <size_t N>
  Value(const ByteArray<N>& b) : v_(Bytes(b.begin(), b.end())) {}  // NOLINT

  Type type() const;
  bool is_unsigned() const { return type() == Type::unsigned_int; }
  bool is_integer() const { return is_unsigned() || type() == Type::negative_int; }
  bool is_bytes() const { return type() == Type::bytes; }
  bool is_text() const { return type() == Type::text; }
  bool is_array() const { return type() == Type::array; }
  bool is_map() const { return type() == Type::map; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_null() const { return type() == Type::null; }

  // Accessors; calling the wrong one is a programming error (std::bad_variant_access).
  uint64_t as_unsigned() const { return std::get<uint64_t>(v_); }
  // Negative values, and unsigned ones up to INT64_MAX. Check fits_int64() first.
  int64_t as_int64() const;
  bool fits_int64() const;
  const Bytes& as_bytes() const { return std::get<Bytes>(v_); }
  const std::string& as_text() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  const Map& as_map() const { return std::get<Map>(v_); }
  bool as_bool() const { return std::get<bool>(v_); }

  // A short type name for error messages: "unsigned integer", "byte string", …
  std::string type_name() const;

  bool operator==(const Value& o) const { return v_ == o.v_; }

 private:
  struct Null {
    bool operator==(const Null&) const { return true; }
  };
  struct Negative {  // the value itself, always < 0
    int64_t value;
    bool operator==(const Negative& o) const { return value == o.value; }
  };
  std::variant<uint64_t, Negative, Bytes, std::string, Array, Map, bool, Null> v_;
};

// Defined here, where Value is complete (clang requires it).
inline size_t Map::size() const { return entries_.size(); }
inline bool Map::empty() const { return entries_.empty(); }
inline Map::const_iterator Map::begin() const { return entries_.begin(); }
inline Map::const_iterator Map::end() const { return entries_.end(); }

}  // namespace hybrid::cbor
