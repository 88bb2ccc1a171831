// JSON text that never throws: nlohmann's dump() throws type_error 316 on a string that is
// not valid UTF-8; this replaces such bytes with U+FFFD instead. Use it for every JSON that
// carries text a peer could have supplied (and in code running on a service thread).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace hybrid {

inline std::string to_json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hybrid
