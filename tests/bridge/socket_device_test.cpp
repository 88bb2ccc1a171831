// SocketHidDevice in listening mode behaves like a hidraw node: several programs may have
// it open, each gets every report, and the host is "closed" only when the last one leaves.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "bridge/socket_hid_device.h"

using namespace hybrid;
using namespace hybrid::bridge;
using namespace std::chrono_literals;

namespace {

std::string temp_socket_path() {
  char dir[] = "/tmp/bridge-sock-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return std::string(dir) + "/hid.sock";
}

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// Reads until a report (or a host-closed) turns up; accepts and timeouts are skipped.
HidRead next_event(SocketHidDevice& d) {
  for (int i = 0; i < 50; ++i) {
    auto r = d.read_report(100ms);
    REQUIRE(r.ok());
    if (r->kind == HidRead::Kind::report || r->kind == HidRead::Kind::host_closed) return *r;
  }
  FAIL("nothing happened within 5 s");
  return {};
}

bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1;
}

}  // namespace

TEST_CASE("several clients share the socket device like a hidraw node") {
  auto path = temp_socket_path();
  auto dev = SocketHidDevice::listen_at(path);
  REQUIRE(dev->open().ok());
  int a = connect_to(path);
  int b = connect_to(path);

  Report from_a{};
  from_a[0] = 0xaa;
  REQUIRE(::send(a, from_a.data(), from_a.size(), 0) == 64);
  auto r = next_event(*dev);
  REQUIRE(r.kind == HidRead::Kind::report);
  CHECK(r.report[0] == 0xaa);

  // B is accepted by now too (its connect is older than A's report being read).
  auto settle = dev->read_report(50ms);
  REQUIRE(settle.ok());
  Report out{};
  out[0] = 0x42;
  REQUIRE(dev->write_report(out).ok());
  for (int fd : {a, b}) {
    REQUIRE(readable(fd, 2000));
    Report got{};
    CHECK(::recv(fd, got.data(), got.size(), 0) == 64);
    CHECK(got[0] == 0x42);
  }

  // A wrong-sized packet is dropped, not delivered.
  uint8_t small[10] = {1};
  REQUIRE(::send(b, small, sizeof small, 0) == 10);
  Report from_b{};
  from_b[0] = 0xbb;
  REQUIRE(::send(b, from_b.data(), from_b.size(), 0) == 64);
  r = next_event(*dev);
  REQUIRE(r.kind == HidRead::Kind::report);
  CHECK(r.report[0] == 0xbb);

  ::close(a);
  REQUIRE(::send(b, from_b.data(), from_b.size(), 0) == 64);
  r = next_event(*dev);
  CHECK(r.kind == HidRead::Kind::report);  // A leaving is not the host closing
  ::close(b);
  r = next_event(*dev);
  CHECK(r.kind == HidRead::Kind::host_closed);

  dev->close();
  struct stat st{};
  CHECK(::stat(path.c_str(), &st) != 0);  // the socket file is removed
  ::rmdir(path.substr(0, path.rfind('/')).c_str());
}

TEST_CASE("wake() interrupts a blocked read") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
  auto dev = SocketHidDevice::adopt(fds[0]);
  REQUIRE(dev->open().ok());
  dev->wake();
  auto started = std::chrono::steady_clock::now();
  auto r = dev->read_report(5s);
  REQUIRE(r.ok());
  CHECK(r->kind == HidRead::Kind::woken);
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  r = dev->read_report(20ms);
  REQUIRE(r.ok());
  CHECK(r->kind == HidRead::Kind::timeout);
  ::close(fds[1]);
}

TEST_CASE("the socket device refuses to replace a file that is not a socket") {
  auto path = temp_socket_path();
  { std::ofstream(path) << "precious"; }
  auto dev = SocketHidDevice::listen_at(path);
  auto st = dev->open();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("not a socket") != std::string::npos);
  std::ifstream in(path);
  std::string content;
  in >> content;
  CHECK(content == "precious");
  ::unlink(path.c_str());
  ::rmdir(path.substr(0, path.rfind('/')).c_str());
}
