// Reads the known-answer vector files under tests/vectors/<folder>/ (see its README).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace hybrid::testing {

struct VectorCase {
  std::string file;
  std::string name;
  nlohmann::json data;  // the case merged over nothing: fields as in the file
};

// Every case of every *.json file in tests/vectors/<folder>, in file-name order.
// Throws when the folder is empty or a file's kind differs from `kind`, so a renamed or
// misplaced file cannot silently reduce coverage.
inline std::vector<VectorCase> load_vectors(const std::string& folder, const std::string& kind) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path("tests/vectors") / folder;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<VectorCase> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    auto j = nlohmann::json::parse(in);
    if (j.value("kind", "") != kind) continue;  // other kinds in the same folder have their own test
    for (const auto& c : j.at("cases")) {
      out.push_back({f.filename().string(), c.value("name", c.dump().substr(0, 40)), c});
    }
  }
  if (out.empty()) throw std::runtime_error("no vectors of kind " + kind + " in " + dir.string());
  return out;
}

inline Bytes hex_field(const nlohmann::json& j, const char* field) {
  auto r = hex_decode(j.at(field).get<std::string>());
  if (!r) throw std::runtime_error(std::string("bad hex in field ") + field);
  return *r;
}

}  // namespace hybrid::testing
