// The wait every HID device of the bridge does: poll its own descriptors until one is
// ready, a deadline passes, or another thread (or a signal handler) calls wake(). Both
// UhidDevice and SocketHidDevice wait through this one piece of code.
#pragma once

#include <poll.h>

#include <chrono>
#include <vector>

#include "base/result.h"

namespace hybrid::bridge {

class WakeablePoll {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Outcome {
    ready,    // at least one of the descriptors has revents set
    timeout,  // the deadline passed
    woken,    // wake() was called (pending wakes are consumed)
  };

  WakeablePoll() = default;
  ~WakeablePoll();
  WakeablePoll(const WakeablePoll&) = delete;
  WakeablePoll& operator=(const WakeablePoll&) = delete;

  Status open();   // creates the eventfd; safe to call again
  void close();
  bool is_open() const { return wake_fd_ >= 0; }
  // Async-signal-safe and thread-safe.
  void wake();
  // Polls `fds` (their revents are filled in) and the wake descriptor. EINTR is retried.
  Result<Outcome> wait(std::vector<pollfd>& fds, Clock::time_point deadline);

 private:
  int wake_fd_ = -1;
};

}  // namespace hybrid::bridge
