// How long to wait before the next reconnection attempt: exponential backoff with
// "equal jitter" (a random delay between half and all of the current step), capped, so
// that phones cut off by the same node failure do not all come back at the same instant.
// Sans-I/O: the caller sleeps; tests pass a seed.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace hybrid::roles {

class ReconnectBackoff {
 public:
  // initial: the first step; max: the cap of any step (both > 0, initial <= max).
  ReconnectBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed);

  // The delay before the next attempt; each call doubles the step up to the cap.
  std::chrono::milliseconds next_delay();
  // After a connection proved healthy: start again from the initial step.
  void reset() { step_ = initial_; }
  std::chrono::milliseconds current_step() const { return step_; }

 private:
  std::chrono::milliseconds initial_, max_, step_;
  std::mt19937_64 rng_;
};

}  // namespace hybrid::roles
