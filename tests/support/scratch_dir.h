// A fresh directory for one test, removed when the test ends: in the build tree (a real
// disk, where fsync matters) when CMake defines HYBRID_TEST_SCRATCH_DIR for the test
// target, else under the system temp dir.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace hybrid::test {

struct ScratchDir {
  explicit ScratchDir(const std::string& prefix) {
#ifdef HYBRID_TEST_SCRATCH_DIR
    const std::filesystem::path base = HYBRID_TEST_SCRATCH_DIR;
#else
    const std::filesystem::path base = std::filesystem::temp_directory_path();
#endif
    std::string tmpl = (base / (prefix + "-XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a scratch directory " + tmpl);
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string file(const std::string& name) const { return (std::filesystem::path(path) / name).string(); }
  std::string path;
};

}  // namespace hybrid::test
