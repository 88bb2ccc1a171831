// The push listener's reconnection schedule: doubling steps, capped, with jitter that
// spreads phones cut off by the same failure, and a reset once a connection proved good.
#include <catch2/catch.hpp>

#include <set>

#include "roles/reconnect_backoff.h"

using namespace hybrid::roles;
using namespace std::chrono_literals;

TEST_CASE("reconnect_backoff: doubling steps between half and all of each step, capped") {
  ReconnectBackoff b(500ms, 4000ms, 1);
  std::chrono::milliseconds expected_step = 500ms;
  for (int i = 0; i < 10; ++i) {
    auto d = b.next_delay();
    CHECK(d >= expected_step / 2);
    CHECK(d <= expected_step);
    expected_step = std::min(expected_step * 2, std::chrono::milliseconds(4000));
  }
  CHECK(b.current_step() == 4000ms);
  b.reset();
  auto d = b.next_delay();
  CHECK(d >= 250ms);
  CHECK(d <= 500ms);
}

TEST_CASE("reconnect_backoff: jitter spreads phones that failed together") {
  std::set<long> first_delays;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    ReconnectBackoff b(1000ms, 30000ms, seed);
    first_delays.insert(b.next_delay().count());
  }
  CHECK(first_delays.size() > 40);  // 50 phones do not come back in the same millisecond
}

TEST_CASE("reconnect_backoff: degenerate settings stay usable") {
  ReconnectBackoff b(0ms, 0ms, 7);
  CHECK(b.next_delay() <= 1ms);
  ReconnectBackoff c(5000ms, 100ms, 7);  // max below initial: the initial step is the cap
  c.next_delay();
  CHECK(c.current_step() == 5000ms);
}
