#include "bridge/wakeable_poll.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hybrid::bridge {

WakeablePoll::~WakeablePoll() { close(); }

Status WakeablePoll::open() {
  if (wake_fd_ >= 0) return {};
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return make_error(std::string("eventfd failed: ") + std::strerror(errno));
  return {};
}

void WakeablePoll::close() {
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
}

void WakeablePoll::wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_fd_, &one, sizeof one);
}

Result<WakeablePoll::Outcome> WakeablePoll::wait(std::vector<pollfd>& fds, Clock::time_point deadline) {
  if (wake_fd_ < 0) return make_error("the device is not open");
  std::vector<pollfd> all;
  all.reserve(fds.size() + 1);
  all.push_back({wake_fd_, POLLIN, 0});
  all.insert(all.end(), fds.begin(), fds.end());
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left < 0) left = 0;
    int r = ::poll(all.data(), all.size(), int(left));
    if (r < 0) {
      if (errno == EINTR) continue;
      return make_error(std::string("poll failed: ") + std::strerror(errno));
    }
    for (size_t i = 0; i < fds.size(); ++i) fds[i].revents = all[i + 1].revents;
    if (r == 0) return Outcome::timeout;
    if (all[0].revents & POLLIN) {
      uint64_t v;
      while (::read(wake_fd_, &v, sizeof v) > 0) {
      }
      return Outcome::woken;
    }
    return Outcome::ready;
  }
}

}  // namespace hybrid::bridge
