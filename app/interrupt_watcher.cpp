#include "app/interrupt_watcher.h"

#include <chrono>
#include <csignal>

namespace hybrid::app {
namespace {
std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }
}  // namespace

InterruptWatcher::InterruptWatcher(std::function<void()> on_interrupt) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  thread_ = std::thread([this, on_interrupt = std::move(on_interrupt)] {
    while (!finished_) {
      if (g_interrupted) {
        on_interrupt();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
}

InterruptWatcher::~InterruptWatcher() {
  finished_ = true;
  thread_.join();
}

bool InterruptWatcher::interrupted() { return g_interrupted; }

}  // namespace hybrid::app
