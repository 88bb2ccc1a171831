// What was built: the project version (CMake's project(VERSION)) and the git revision the
// build came from ("unknown" when neither .git nor a `git archive` tarball's stamp says).
// Generated at build time by cmake/GitRevision.cmake.
#pragma once

#include <string_view>

namespace hybrid::build_info {

std::string_view version();       // "0.1.0"
std::string_view git_revision();  // "4982632a1b2c" or "4982632a1b2c-dirty"

}  // namespace hybrid::build_info
