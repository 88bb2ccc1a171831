// Ctrl-C and SIGTERM for commands that run a blocking transaction: the signal handler only
// sets a flag, and a helper thread turns it into `on_interrupt()` (cancel() of a
// transaction takes locks, which a signal handler must not).
#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace hybrid::app {

class InterruptWatcher {
 public:
  // Installs SIGINT and SIGTERM handlers and starts watching; `on_interrupt` runs at most
  // once, on the watcher thread.
  explicit InterruptWatcher(std::function<void()> on_interrupt);
  ~InterruptWatcher();  // stops watching (the handlers stay: a late signal only sets the flag)
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  // Whether SIGINT or SIGTERM arrived since the process started.
  static bool interrupted();

 private:
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace hybrid::app
