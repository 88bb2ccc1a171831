// A HidDevice whose "host" is a peer on a Unix SOCK_SEQPACKET socket: each packet is one
// raw 64-byte CTAPHID report, both ways (no report-ID byte). Used by tests (a python-fido2
// client with a custom connection class, or a socketpair in C++) and handy for tools.
// Like a hidraw node it may be open several times at once: every connected client gets
// every report the device sends (CTAPHID channels tell them apart), and the host counts as
// closed when the last client leaves.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bridge/hid_device.h"
#include "bridge/wakeable_poll.h"

namespace hybrid::bridge {

class SocketHidDevice : public HidDevice {
 public:
  // Listens on `path` (replacing a stale socket file there); up to kMaxClients at once.
  static std::unique_ptr<SocketHidDevice> listen_at(std::string path);
  // Uses an already connected SOCK_SEQPACKET socket (one end of a socketpair); takes
  // ownership of `fd`.
  static std::unique_ptr<SocketHidDevice> adopt(int fd);

  ~SocketHidDevice() override;
  static constexpr size_t kMaxClients = 16;

  Status open() override;
  Result<HidRead> read_report(Millis timeout) override;
  Status write_report(const Report& report) override;
  void close() override;
  void wake() override;
  std::string describe() const override;

  const std::string& path() const { return path_; }

 private:
  SocketHidDevice() = default;
  void drop_client(size_t index);

  std::string path_;  // empty when adopted
  int listen_fd_ = -1;
  std::vector<int> clients_;
  WakeablePoll waiter_;
  bool host_gone_ = false;  // a write lost the last client; report it on the next read
};

}  // namespace hybrid::bridge
