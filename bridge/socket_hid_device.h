// A HidDevice whose "host" is a peer on a Unix SOCK_SEQPACKET socket: each packet is one
// raw 64-byte CTAPHID report, both ways (no report-ID byte). Used by tests (a python-fido2
// client with a custom connection class, or a socketpair in C++) and handy for tools.
#pragma once

#include <memory>
#include <string>

#include "bridge/hid_device.h"

namespace hybrid::bridge {

class SocketHidDevice : public HidDevice {
 public:
  // Listens on `path` (replacing a stale socket file there) and serves one client at a
  // time; a client that connects while another is served is closed at once.
  static std::unique_ptr<SocketHidDevice> listen_at(std::string path);
  // Uses an already connected SOCK_SEQPACKET socket (one end of a socketpair); takes
  // ownership of `fd`.
  static std::unique_ptr<SocketHidDevice> adopt(int fd);

  ~SocketHidDevice() override;

  Status open() override;
  Result<HidRead> read_report(Millis timeout) override;
  Status write_report(const Report& report) override;
  void close() override;
  void wake() override;
  std::string describe() const override;

  const std::string& path() const { return path_; }

 private:
  SocketHidDevice() = default;
  void drop_client();

  std::string path_;  // empty when adopted
  int listen_fd_ = -1;
  int client_fd_ = -1;
  int wake_fd_ = -1;
  bool client_lost_ = false;  // a write found the client gone; report it on the next read
};

}  // namespace hybrid::bridge
