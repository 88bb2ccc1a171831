// Helpers for the tunnel's loopback tests: a raw TCP/WebSocket speaker for misbehaving
// clients (our own client is too polite), a canned-HTTP server for redirects and silence,
// a test CA made with the openssl CLI, and reading another process's RSS.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"

namespace tunnel_test {

using hybrid::Bytes;
using Millis = std::chrono::milliseconds;

class RawSocket {
 public:
  RawSocket() = default;
  RawSocket(const RawSocket&) = delete;
  RawSocket(RawSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~RawSocket() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }

  bool connect(uint16_t port, const char* source_ip = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source_ip) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      inet_pton(AF_INET, source_ip, &src.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return false;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }

  bool send_all(const void* data, size_t n) {
    auto* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t k = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (k <= 0) return false;
      p += k, n -= static_cast<size_t>(k);
    }
    return true;
  }
  bool send_all(const std::string& s) { return send_all(s.data(), s.size()); }
  bool send_all(const Bytes& b) { return send_all(b.data(), b.size()); }

  // Reads whatever arrives within `timeout` (stops early at EOF). Returns false on EOF
  // with nothing read.
  bool read_some(std::string& into, Millis timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[65536];
    ssize_t k = ::recv(fd_, buf, sizeof buf, 0);
    if (k <= 0) return false;
    into.append(buf, static_cast<size_t>(k));
    return true;
  }

  // Waits until the peer closes the socket (EOF or reset); false on timeout.
  bool wait_closed(Millis timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        char buf[65536];
        ssize_t k = ::recv(fd_, buf, sizeof buf, 0);
        if (k <= 0) return true;
        buffer_.append(buf, static_cast<size_t>(k));
      }
    }
    return false;
  }

  // Reads an HTTP response head; returns the status code (0 if none arrived in time).
  int read_status(Millis timeout, std::string* head_out = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(buffer_, left)) return 0;
    }
    auto end = buffer_.find("\r\n\r\n") + 4;
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end);
    if (head_out) *head_out = head;
    if (head.rfind("HTTP/1.1 ", 0) != 0) return -1;  // not an HTTP/1.1 status line
    return std::atoi(head.c_str() + 9);
  }

  struct Frame {
    int opcode = -1;
    Bytes payload;
  };
  // Reads one server->client (unmasked) frame; opcode -1 on timeout or EOF.
  Frame read_frame(Millis timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto need = [&](size_t n) {
      while (buffer_.size() < n) {
        auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !read_some(buffer_, left)) return false;
      }
      return true;
    };
    Frame f;
    if (!need(2)) return f;
    auto b = reinterpret_cast<const uint8_t*>(buffer_.data());
    size_t len = b[1] & 0x7f, off = 2;
    if (len == 126) {
      if (!need(4)) return f;
      b = reinterpret_cast<const uint8_t*>(buffer_.data());
      len = size_t{b[2]} << 8 | b[3], off = 4;
    } else if (len == 127) {
      if (!need(10)) return f;
      b = reinterpret_cast<const uint8_t*>(buffer_.data());
      len = 0;
      for (int i = 0; i < 8; ++i) len = len << 8 | b[2 + i];
      off = 10;
    }
    if (!need(off + len)) return f;
    b = reinterpret_cast<const uint8_t*>(buffer_.data());
    f.opcode = b[0] & 0x0f;
    f.payload.assign(b + off, b + off + len);
    buffer_.erase(0, off + len);
    return f;
  }

  std::string& buffered() { return buffer_; }

 private:
  int fd_ = -1;
  std::string buffer_;
};

inline std::string upgrade_request(const std::string& path, const char* protocol = "fido.cable",
                                   const std::string& extra_headers = "", const char* method = "GET") {
  std::string r = std::string(method) + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  if (protocol) r += std::string("Sec-WebSocket-Protocol: ") + protocol + "\r\n";
  return r + extra_headers + "\r\n";
}

// A masked client->server frame. `declared_len` lets a test lie about the length.
inline Bytes client_frame(int opcode, const Bytes& payload, bool fin = true, uint64_t declared_len = UINT64_MAX) {
  uint64_t len = declared_len == UINT64_MAX ? payload.size() : declared_len;
  Bytes f;
  f.push_back(static_cast<uint8_t>((fin ? 0x80 : 0) | opcode));
  if (len < 126) {
    f.push_back(static_cast<uint8_t>(0x80 | len));
  } else if (len < 65536) {
    f.push_back(0x80 | 126);
    f.push_back(static_cast<uint8_t>(len >> 8));
    f.push_back(static_cast<uint8_t>(len));
  } else {
    f.push_back(0x80 | 127);
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<uint8_t>(len >> (8 * i)));
  }
  const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.insert(f.end(), mask, mask + 4);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(payload[i] ^ mask[i % 4]);
  return f;
}

inline uint16_t close_code(const RawSocket::Frame& f) {
  return f.opcode == 8 && f.payload.size() >= 2 ? static_cast<uint16_t>(f.payload[0] << 8 | f.payload[1]) : 0;
}

// Answers every connection with the response `respond(request_path)`, then closes it; a
// response of "" means "accept and stay silent".
class CannedHttpServer {
 public:
  explicit CannedHttpServer(std::function<std::string(const std::string&)> respond) : respond_(std::move(respond)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { loop(); });
  }
  ~CannedHttpServer() {
    stop_ = true;
    thread_.join();
    for (int c : silent_) ::close(c);
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  // Every request head received so far, in order.
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(requests_mu_);
    return requests_;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      connections_++;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 2000) <= 0) break;
        ssize_t k = ::recv(c, buf, sizeof buf, 0);
        if (k <= 0) break;
        req.append(buf, static_cast<size_t>(k));
      }
      {
        std::lock_guard<std::mutex> lock(requests_mu_);
        requests_.push_back(req);
      }
      auto sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
      std::string path = sp1 == std::string::npos ? "" : req.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string resp = respond_(path);
      if (resp.empty()) {
        silent_.push_back(c);
        continue;
      }
      ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::shutdown(c, SHUT_WR);
      ::close(c);
    }
  }
  std::function<std::string(const std::string&)> respond_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::vector<int> silent_;
  std::mutex requests_mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

inline std::string redirect_response(int status, const std::string& location) {
  return "HTTP/1.1 " + std::to_string(status) + " Redirect\r\nLocation: " + location +
         "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

// A private CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI
// in a fresh temporary directory; a second, unrelated CA for the "wrong CA" check.
struct TestPki {
  std::string dir, ca_cert, other_ca_cert, server_cert, server_key;
  bool ok = false;
  TestPki() {
    char tmpl[] = "/tmp/hybrid-tunnel-pki-XXXXXX";
    dir = mkdtemp(tmpl);
    ca_cert = dir + "/ca.pem";
    other_ca_cert = dir + "/other-ca.pem";
    server_cert = dir + "/server.pem";
    server_key = dir + "/server.key";
    std::string d = dir;
    std::string script =
        "set -e; cd " + d + "; "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=hybrid-test-ca "
        "-keyout ca.key -out ca.pem 2>/dev/null; "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other-ca "
        "-keyout other-ca.key -out other-ca.pem 2>/dev/null; "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost "
        "-keyout server.key -out server.csr 2>/dev/null; "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile ext.cnf -out server.pem 2>/dev/null";
    std::ofstream(dir + "/ext.cnf") << "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n";
    ok = std::system(script.c_str()) == 0;
  }
  ~TestPki() { std::system(("rm -rf " + dir).c_str()); }
};

// Resident set size of a process in KiB (from /proc/<pid>/status).
inline long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

inline std::string random_hex(size_t bytes) {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char* digits = "0123456789ABCDEF";
  std::string s;
  for (size_t i = 0; i < bytes; ++i) {
    auto v = rng();
    s.push_back(digits[v & 15]);
    s.push_back(digits[(v >> 4) & 15]);
  }
  return s;
}

}  // namespace tunnel_test
