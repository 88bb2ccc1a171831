#include "base/clock.h"

#include <chrono>

namespace hybrid {

int64_t now_monotonic_ms(const InjectedClock& injected) {
  if (injected) return injected();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t now_unix_seconds(const InjectedClock& injected) {
  if (injected) return injected();
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace hybrid
