#include "demo/devtools_tabs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

namespace hybrid::demo {
namespace {

using Clock = std::chrono::steady_clock;

// One HTTP/1.1 request with Connection: close; returns the body of a 200 answer.
Result<std::string> http_request(uint16_t port, const std::string& method, const std::string& target,
                                 std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error(std::string("socket: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto wait_for = [&](short events) -> bool {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd, events, 0};
      int r = poll(&p, 1, static_cast<int>(left));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  };
  const std::string where = "Chromium's DevTools endpoint 127.0.0.1:" + std::to_string(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (errno != EINPROGRESS) return make_error("cannot reach " + where + ": " + std::strerror(errno));
    if (!wait_for(POLLOUT)) return make_error(where + " did not accept a connection in time");
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return make_error("cannot reach " + where + ": " + std::strerror(err));
  }
  const std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(POLLOUT)) return make_error(where + " did not take the request in time");
      continue;
    }
    return make_error("sending to " + where + " failed");
  }
  std::string resp;
  for (;;) {
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      resp.append(buf, static_cast<size_t>(n));
      if (resp.size() > (1u << 20)) return make_error(where + " sent too much");
      // Chromium keeps the connection open: stop once Content-Length bytes of body arrived.
      const auto end = resp.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = resp.substr(0, end);
        for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        const auto cl = head.find("content-length:");
        if (cl != std::string::npos) {
          const size_t want = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
          if (resp.size() - (end + 4) >= want) break;
        }
      }
      continue;
    }
    if (n == 0) break;
    if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(POLLIN)) return make_error(where + " did not answer in time");
      continue;
    }
    return make_error("reading from " + where + " failed");
  }
  const auto head_end = resp.find("\r\n\r\n");
  if (resp.compare(0, 9, "HTTP/1.1 ") != 0 || head_end == std::string::npos) {
    return make_error(where + " sent no HTTP answer");
  }
  const std::string status = resp.substr(9, 3);
  if (status != "200") return make_error(where + " answered " + status + " to " + method + " " + target.substr(0, 40));
  return resp.substr(head_end + 4);
}

std::string percent_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

Result<std::string> open_devtools_tab(uint16_t port, const std::string& url, std::chrono::milliseconds timeout) {
  HYBRID_TRY(auto body, http_request(port, "PUT", "/json/new?" + percent_encode(url), timeout));
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) {
    return make_error("Chromium's DevTools endpoint did not say which tab it opened");
  }
  return j["id"].get<std::string>();
}

Status close_devtools_tab(uint16_t port, const std::string& target_id, std::chrono::milliseconds timeout) {
  HYBRID_TRY(auto body, http_request(port, "GET", "/json/close/" + percent_encode(target_id), timeout));
  (void)body;
  return {};
}

}  // namespace hybrid::demo
