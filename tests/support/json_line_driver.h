// The stdin/stdout loop of the line-oriented test drivers (tests/ctap/interop_helper,
// tests/chromium/rp_helper): one JSON request per line in, one JSON answer per line out.
// A request that does not parse, or whose handler throws, is answered with
// {"ok":false,"error":"bad request: …"} and the loop goes on.
#pragma once

#include <exception>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "base/log.h"

namespace hybrid::test {

// handle: nlohmann::json(const nlohmann::json& request). Returns main()'s exit code.
template <typename Handler>
int run_json_line_driver(Handler&& handle) {
  log::set_threshold(log::Level::warn);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    nlohmann::json answer;
    try {
      answer = handle(nlohmann::json::parse(line));
    } catch (const std::exception& e) {
      answer = nlohmann::json{{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
    }
    std::cout << answer.dump() << std::endl;
  }
  return 0;
}

}  // namespace hybrid::test
