#include "tunnel/http_probe.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "tunnel/url.h"

namespace hybrid::tunnel {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "connection closed during the TLS handshake";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::optional<std::time_t> parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return timegm(&tm);
}

std::string format_http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

HttpProbeResult probe_http(const std::string& url_text, const HttpProbeOptions& o) {
  HttpProbeResult out;
  auto fail = [&](ProbeFailure f, std::string why) {
    out.failure = f;
    out.error = std::move(why);
    return out;
  };
  auto url = parse_ws_url(url_text);
  if (!url) return fail(ProbeFailure::invalid_url, url.error().message);
  out.tls = url->tls;
  out.address = (url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host) + ":" +
                std::to_string(url->port);
  auto deadline = Clock::now() + o.timeout;

  // getaddrinfo has no timeout of its own; with a numeric host (tests) it does not block.
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(url->port);
  if (int r = getaddrinfo(url->host.c_str(), port.c_str(), &hints, &res); r != 0) {
    return fail(ProbeFailure::dns, "cannot resolve " + url->host + ": " + gai_strerror(r));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addrs(res, freeaddrinfo);

  Fd sock;
  std::string last_error = "no address";
  bool timed_out = false;
  for (addrinfo* a = res; a && sock.fd < 0; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      close(fd);
      continue;
    }
    if (!wait_fd(fd, POLLOUT, deadline)) {
      timed_out = true;
      close(fd);
      break;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last_error = std::strerror(err);
      close(fd);
      continue;
    }
    sock.fd = fd;
  }
  if (sock.fd < 0) {
    if (timed_out) return fail(ProbeFailure::timeout, "no TCP connection to " + out.address + " within the timeout");
    return fail(ProbeFailure::connect, "cannot connect to " + out.address + ": " + last_error);
  }

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(nullptr, SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  auto send_all = [&](const std::string& data) -> bool {
    size_t off = 0;
    while (off < data.size()) {
      int n = 0;
      if (ssl) {
        n = SSL_write(ssl.get(), data.data() + off, static_cast<int>(data.size() - off));
        if (n <= 0) {
          int e = SSL_get_error(ssl.get(), n);
          if ((e == SSL_ERROR_WANT_WRITE && wait_fd(sock.fd, POLLOUT, deadline)) ||
              (e == SSL_ERROR_WANT_READ && wait_fd(sock.fd, POLLIN, deadline)))
            continue;
          return false;
        }
      } else {
        n = static_cast<int>(send(sock.fd, data.data() + off, data.size() - off, MSG_NOSIGNAL));
        if (n < 0) {
          if ((errno == EAGAIN || errno == EINTR) && wait_fd(sock.fd, POLLOUT, deadline)) continue;
          return false;
        }
      }
      off += static_cast<size_t>(n);
    }
    return true;
  };
  // Reads until the header block ends, the peer closes, or the deadline.
  auto read_head = [&](std::string& buf) -> bool {
    char chunk[4096];
    while (buf.find("\r\n\r\n") == std::string::npos && buf.size() < 65536) {
      int n = 0;
      if (ssl) {
        n = SSL_read(ssl.get(), chunk, sizeof chunk);
        if (n <= 0) {
          int e = SSL_get_error(ssl.get(), n);
          if ((e == SSL_ERROR_WANT_READ && wait_fd(sock.fd, POLLIN, deadline)) ||
              (e == SSL_ERROR_WANT_WRITE && wait_fd(sock.fd, POLLOUT, deadline)))
            continue;
          return !buf.empty();
        }
      } else {
        n = static_cast<int>(recv(sock.fd, chunk, sizeof chunk, 0));
        if (n < 0) {
          if ((errno == EAGAIN || errno == EINTR) && wait_fd(sock.fd, POLLIN, deadline)) continue;
          return !buf.empty();
        }
        if (n == 0) return !buf.empty();
      }
      buf.append(chunk, static_cast<size_t>(n));
    }
    return true;
  };

  if (url->tls) {
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return fail(ProbeFailure::tls, "cannot create a TLS context: " + openssl_error());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!o.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1) {
        return fail(ProbeFailure::tls, "cannot load the CA file " + o.ca_file + ": " + openssl_error());
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return fail(ProbeFailure::tls, "cannot load the system CA store: " + openssl_error());
    }
    ssl.reset(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), sock.fd);
    SSL_set_tlsext_host_name(ssl.get(), url->host.c_str());
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    if (X509_VERIFY_PARAM_set1_ip_asc(param, url->host.c_str()) != 1) {
      X509_VERIFY_PARAM_set1_host(param, url->host.c_str(), 0);
    }
    for (;;) {
      ERR_clear_error();
      int r = SSL_connect(ssl.get());
      if (r == 1) break;
      int e = SSL_get_error(ssl.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait_fd(sock.fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
          return fail(ProbeFailure::timeout, "the TLS handshake with " + out.address + " did not finish in time");
        }
        continue;
      }
      long verify = SSL_get_verify_result(ssl.get());
      if (verify != X509_V_OK) {
        return fail(ProbeFailure::tls, std::string("the certificate of ") + out.address +
                                           " does not verify: " + X509_verify_cert_error_string(verify));
      }
      return fail(ProbeFailure::tls, "TLS handshake with " + out.address + " failed: " + openssl_error());
    }
    out.tls_version = SSL_get_version(ssl.get());
  }

  std::string request = "GET " + o.path + " HTTP/1.1\r\nHost: " + url->host_header() +
                        "\r\nUser-Agent: hybrid-doctor\r\nConnection: close\r\n\r\n";
  if (!send_all(request)) return fail(ProbeFailure::connect, "the connection to " + out.address + " broke while sending");
  std::string head;
  if (!read_head(head)) {
    if (remaining_ms(deadline) == 0) return fail(ProbeFailure::timeout, out.address + " sent no HTTP answer in time");
    return fail(ProbeFailure::protocol, out.address + " closed the connection without an HTTP answer");
  }
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) {
    return fail(ProbeFailure::protocol, out.address + " did not answer with HTTP/1.x");
  }
  out.status = std::atoi(head.c_str() + 9);
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    if (next == std::string::npos) break;
    std::string line = head.substr(pos + 2, next - pos - 2);
    if (auto colon = line.find(':'); colon != std::string::npos && lower(line.substr(0, colon)) == "date") {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
      out.date = parse_http_date(v);
    }
    pos = next;
  }
  return out;
}

}  // namespace hybrid::tunnel
