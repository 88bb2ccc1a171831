// Whole numbers read from JSON files and messages without undefined behaviour. nlohmann's
// get<int64_t>() (and value(key, int64_t{})) on a JSON *float* converts it with a plain
// cast, which C++ leaves undefined when the float is outside the type's range (1e51 as
// created_at: UBSan "outside the range of representable values"), and on an integer that
// does not fit the target it silently wraps (70000 as a uint16_t domain id reads as 4464).
// These accept only a JSON integer inside the target type's range.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace hybrid {

// The value as T if it is a JSON integer (not a float, string or bool) that T can hold.
template <class T>
std::optional<T> json_whole_number(const nlohmann::json& v) {
  static_assert(std::numeric_limits<T>::is_integer && sizeof(T) <= 8);
  using Limits = std::numeric_limits<T>;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(Limits::max())) return std::nullopt;
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {  // signed storage: parsed negatives, or built from a signed C++ value
    const int64_t i = v.get<int64_t>();
    if (i < 0) {
      if (!Limits::is_signed || i < static_cast<int64_t>(Limits::min())) return std::nullopt;
    } else if (static_cast<uint64_t>(i) > static_cast<uint64_t>(Limits::max())) {
      return std::nullopt;
    }
    return static_cast<T>(i);
  }
  return std::nullopt;
}

// Member `key` of `object` as T; an error naming `what` and the key when it is absent or
// not a whole number T can hold.
template <class T>
Result<T> json_whole_number_member(const nlohmann::json& object, std::string_view key, std::string_view what) {
  const std::string must = std::string(what) + ": \"" + std::string(key) + "\" must be a whole number from " +
                           std::to_string(std::numeric_limits<T>::min()) + " to " +
                           std::to_string(std::numeric_limits<T>::max());
  if (!object.is_object()) return make_error(must);
  auto it = object.find(key);
  if (it == object.end()) return make_error(must + "; it is missing");
  if (auto n = json_whole_number<T>(*it)) return *n;
  std::string got = it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (got.size() > 40) got = got.substr(0, 37) + "...";
  return make_error(must + ", not " + got);
}

// The same, with `fallback` when the member is absent (or `object` is not an object).
template <class T>
Result<T> json_whole_number_field(const nlohmann::json& object, std::string_view key, T fallback,
                                  std::string_view what) {
  if (!object.is_object() || !object.contains(key)) return fallback;
  return json_whole_number_member<T>(object, key, what);
}

}  // namespace hybrid
