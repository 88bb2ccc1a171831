// How a fuzz target reports a broken invariant: it names it on stderr and aborts, so that
// libFuzzer saves the input that broke it as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace hybrid::fuzz {

[[noreturn]] inline void violated(const char* what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

}  // namespace hybrid::fuzz
