#include "cbor/value.h"

#include <limits>

namespace hybrid::cbor {

Map::Map(std::initializer_list<Entry> entries) {
  for (const auto& e : entries) set(e.first, e.second);
}

Map& Map::set(Value key, Value value) {
  for (auto& e : entries_) {
    if (e.first == key) {
      e.second = std::move(value);
      return *this;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
  return *this;
}

void Map::append_unchecked(Value key, Value value) {
  entries_.emplace_back(std::move(key), std::move(value));
}

const Value* Map::find(const Value& key) const {
  for (const auto& e : entries_) {
    if (e.first == key) return &e.second;
  }
  return nullptr;
}
const Value* Map::find(int64_t key) const { return find(Value(key)); }
const Value* Map::find(std::string_view key) const { return find(Value(key)); }

bool Map::operator==(const Map& o) const {
  if (size() != o.size()) return false;
  for (const auto& e : entries_) {
    const Value* v = o.find(e.first);
    if (!v || !(*v == e.second)) return false;
  }
  return true;
}

Value::Value(int64_t v) {
  if (v >= 0) v_ = static_cast<uint64_t>(v);
  else v_ = Negative{v};
}

Value::Type Value::type() const { return static_cast<Type>(v_.index()); }

bool Value::fits_int64() const {
  if (type() == Type::negative_int) return true;
  if (type() == Type::unsigned_int)
    return std::get<uint64_t>(v_) <= uint64_t(std::numeric_limits<int64_t>::max());
  return false;
}

int64_t Value::as_int64() const {
  if (type() == Type::negative_int) return std::get<Negative>(v_).value;
  return static_cast<int64_t>(std::get<uint64_t>(v_));
}

std::string Value::type_name() const {
  switch (type()) {
    case Type::unsigned_int: return "unsigned integer";
    case Type::negative_int: return "negative integer";
    case Type::bytes: return "byte string";
    case Type::text: return "text string";
    case Type::array: return "array";
    case Type::map: return "map";
    case Type::boolean: return "boolean";
    case Type::null: return "null";
  }
  return "unknown";
}

}  // namespace hybrid::cbor
