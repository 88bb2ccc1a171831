#include "bridge/socket_hid_device.h"

#include <fcntl.h>
#include <poll.h>
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
  d->clients_.push_back(fd);
  return d;
}

SocketHidDevice::~SocketHidDevice() { close(); }

Status SocketHidDevice::open() {
  HYBRID_TRY_STATUS(waiter_.open());
  if (path_.empty()) {
    if (clients_.empty()) return make_error("socket device: no socket to use");
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

void SocketHidDevice::drop_client(size_t index) {
  ::close(clients_[index]);
  clients_.erase(clients_.begin() + long(index));
}

Result<HidRead> SocketHidDevice::read_report(Millis timeout) {
  if (!waiter_.is_open()) return make_error("socket device is not open");
  if (host_gone_) {
    host_gone_ = false;
    return HidRead{HidRead::Kind::host_closed, {}};
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::vector<pollfd> fds;
    const size_t first_client = fds.size();
    for (int c : clients_) fds.push_back({c, POLLIN, 0});
    const size_t listen_index = fds.size();
    if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
    HYBRID_TRY(auto outcome, waiter_.wait(fds, deadline));
    if (outcome == WakeablePoll::Outcome::timeout) return HidRead{HidRead::Kind::timeout, {}};
    if (outcome == WakeablePoll::Outcome::woken) return HidRead{HidRead::Kind::woken, {}};
    // Clients first: a client leaving and another arriving in the same round is common
    // (one program closes the device, the next opens it).
    for (size_t i = 0; i < clients_.size(); ++i) {
      if (!fds[first_client + i].revents) continue;
      Report report{};
      ssize_t got = ::recv(clients_[i], report.data(), report.size(), MSG_TRUNC | MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        drop_client(i);
        log::debug(kStage, "a socket client went away ({} left)", clients_.size());
        if (clients_.empty()) return HidRead{HidRead::Kind::host_closed, {}};
        break;  // indices moved: poll again
      }
      if (size_t(got) != kReportSize) {
        log::warn(kStage, "dropping a {}-byte packet: reports are exactly {} bytes", got, kReportSize);
        continue;
      }
      return HidRead{HidRead::Kind::report, report};
    }
    if (listen_fd_ >= 0 && (fds[listen_index].revents & POLLIN)) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        if (clients_.size() >= kMaxClients) {
          log::warn(kStage, "refusing a socket client: {} are connected already", clients_.size());
          ::close(c);
        } else {
          clients_.push_back(c);
          log::debug(kStage, "a socket client connected ({} now)", clients_.size());
        }
      }
    }
  }
}

Status SocketHidDevice::write_report(const Report& report) {
  if (clients_.empty()) return {};  // nobody has the device open: the report goes nowhere
  for (size_t i = 0; i < clients_.size();) {
    ssize_t sent = ::send(clients_[i], report.data(), report.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent == ssize_t(report.size())) {
      ++i;
      continue;
    }
    // A client that cannot take a report (gone, or not reading at all) loses the device,
    // as a stuck reader must not stall everyone else.
    log::debug(kStage, "dropping a socket client: {}", sent < 0 ? errno_text(errno) : "short write");
    drop_client(i);
    if (clients_.empty()) host_gone_ = true;
  }
  return {};
}

void SocketHidDevice::close() {
  while (!clients_.empty()) drop_client(clients_.size() - 1);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }
  waiter_.close();
}

void SocketHidDevice::wake() { waiter_.wake(); }

std::string SocketHidDevice::describe() const {
  return path_.empty() ? std::string("socket:(connected)") : "socket:" + path_;
}

}  // namespace hybrid::bridge
