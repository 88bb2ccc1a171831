#include "bridge/socket_hid_device.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace hybrid::bridge {
namespace {

constexpr std::string_view kStage = "bridge";

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

std::unique_ptr<SocketHidDevice> SocketHidDevice::listen_at(std::string path) {
  std::unique_ptr<SocketHidDevice> d(new SocketHidDevice());
  d->path_ = std::move(path);
  return d;
}

std::unique_ptr<SocketHidDevice> SocketHidDevice::adopt(int fd) {
  std::unique_ptr<SocketHidDevice> d(new SocketHidDevice());
  d->client_fd_ = fd;
  return d;
}

SocketHidDevice::~SocketHidDevice() { close(); }

Status SocketHidDevice::open() {
  if (wake_fd_ < 0) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return make_error("eventfd failed: " + errno_text(errno));
  }
  if (path_.empty()) {
    if (client_fd_ < 0) return make_error("socket device: no socket to use");
    return {};
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof(addr.sun_path)) {
    return make_error("socket path is " + std::to_string(path_.size()) + " bytes; Unix sockets allow at most " +
                      std::to_string(sizeof(addr.sun_path) - 1) + ": choose a shorter --socket path");
  }
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  struct stat st{};
  if (lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(path_ + " exists and is not a socket: refusing to replace it");
    }
    ::unlink(path_.c_str());  // a stale socket from an earlier run
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return make_error("socket(AF_UNIX, SOCK_SEQPACKET) failed: " + errno_text(errno));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    return make_error("cannot bind " + path_ + ": " + errno_text(e));
  }
  if (::listen(listen_fd_, 4) != 0) {
    int e = errno;
    close();
    return make_error("cannot listen on " + path_ + ": " + errno_text(e));
  }
  return {};
}

void SocketHidDevice::drop_client() {
  if (client_fd_ >= 0) ::close(client_fd_);
  client_fd_ = -1;
}

Result<HidRead> SocketHidDevice::read_report(Millis timeout) {
  if (wake_fd_ < 0) return make_error("socket device is not open");
  if (client_lost_) {
    client_lost_ = false;
    return HidRead{HidRead::Kind::host_closed, {}};
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {wake_fd_, POLLIN, 0};
    int client_index = -1, listen_index = -1;
    if (client_fd_ >= 0) {
      client_index = int(n);
      fds[n++] = {client_fd_, POLLIN, 0};
    }
    if (listen_fd_ >= 0) {
      listen_index = int(n);
      fds[n++] = {listen_fd_, POLLIN, 0};
    }
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left < 0) left = 0;
    int r = ::poll(fds, n, int(left));
    if (r < 0) {
      if (errno == EINTR) continue;
      return make_error("poll failed: " + errno_text(errno));
    }
    if (r == 0) return HidRead{HidRead::Kind::timeout, {}};
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      while (::read(wake_fd_, &v, sizeof v) > 0) {
      }
      return HidRead{HidRead::Kind::woken, {}};
    }
    if (listen_index >= 0 && (fds[listen_index].revents & POLLIN)) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        if (client_fd_ >= 0) {
          log::warn(kStage, "a second client connected to {}; only one is served at a time", path_);
          ::close(c);
        } else {
          log::debug(kStage, "a client connected to {}", path_);
          client_fd_ = c;
        }
      }
      continue;
    }
    if (client_index >= 0 && fds[client_index].revents) {
      Report report{};
      ssize_t got = ::recv(client_fd_, report.data(), report.size(), MSG_TRUNC | MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        log::debug(kStage, "the socket client went away");
        drop_client();
        return HidRead{HidRead::Kind::host_closed, {}};
      }
      if (size_t(got) != kReportSize) {
        log::warn(kStage, "dropping a {}-byte packet: reports are exactly {} bytes", got, kReportSize);
        continue;
      }
      return HidRead{HidRead::Kind::report, report};
    }
  }
}

Status SocketHidDevice::write_report(const Report& report) {
  if (client_fd_ < 0) return {};  // nobody has the device open: the report goes nowhere
  ssize_t sent = ::send(client_fd_, report.data(), report.size(), MSG_NOSIGNAL);
  if (sent == ssize_t(report.size())) return {};
  log::debug(kStage, "writing to the socket client failed: {}", sent < 0 ? errno_text(errno) : "short write");
  drop_client();
  client_lost_ = true;
  return {};
}

void SocketHidDevice::close() {
  drop_client();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
}

void SocketHidDevice::wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_fd_, &one, sizeof one);
}

std::string SocketHidDevice::describe() const {
  return path_.empty() ? std::string("socket:(connected)") : "socket:" + path_;
}

}  // namespace hybrid::bridge
