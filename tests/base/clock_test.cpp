// base/clock.h: an injected clock is read as it is; without one, the system's clocks.
#include <catch2/catch.hpp>

#include <chrono>

#include "base/clock.h"

using namespace hybrid;

TEST_CASE("clock: an injected clock is what both readings return, call by call") {
  int64_t t = 41;
  InjectedClock fake = [&t] { return ++t; };
  CHECK(now_monotonic_ms(fake) == 42);
  CHECK(now_monotonic_ms(fake) == 43);
  CHECK(now_unix_seconds(fake) == 44);
}

TEST_CASE("clock: without one, the monotonic clock never goes back and the wall clock is the system's") {
  int64_t a = now_monotonic_ms();
  int64_t b = now_monotonic_ms(InjectedClock{});
  CHECK(b >= a);
  auto wall_s = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  int64_t before = wall_s();
  int64_t s = now_unix_seconds();
  int64_t after = wall_s();
  CHECK(s >= before);
  CHECK(s <= after);
  CHECK(s > 1700000000);  // after 2023-11: a unix-seconds reading, not milliseconds or zero
}
