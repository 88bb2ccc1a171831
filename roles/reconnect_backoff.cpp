#include "roles/reconnect_backoff.h"

#include <algorithm>

namespace hybrid::roles {

ReconnectBackoff::ReconnectBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      step_(initial_),
      rng_(seed) {}

std::chrono::milliseconds ReconnectBackoff::next_delay() {
  auto half = step_.count() / 2;
  std::uniform_int_distribution<int64_t> pick(half, step_.count());
  auto delay = std::chrono::milliseconds(pick(rng_));
  step_ = std::min(max_, step_ * 2);
  return delay;
}

}  // namespace hybrid::roles
