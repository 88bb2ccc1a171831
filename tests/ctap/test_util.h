// Small helpers shared by the ctap tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "base/bytes.h"

namespace ctap_test {

inline hybrid::Bytes H(const std::string& s) {
  auto b = hybrid::hex_decode(s);
  if (!b.ok()) throw std::runtime_error("bad hex in test: " + s);
  return *b;
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

}  // namespace ctap_test
