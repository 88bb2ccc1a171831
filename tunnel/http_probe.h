// One plain HTTP/1.1 GET over TCP or TLS, for `hybrid doctor`: can this machine reach a
// tunnel service, does its certificate verify against the CA in use, and what time does
// the service's Date header say. Blocking, bounded by one timeout, no redirects followed.
#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <string>

namespace hybrid::tunnel {

enum class ProbeFailure { none, invalid_url, dns, connect, tls, timeout, protocol };

struct HttpProbeOptions {
  std::string ca_file;  // PEM; empty: the system's CA store
  std::chrono::milliseconds timeout{5000};
  std::string path = "/healthz";
};

struct HttpProbeResult {
  ProbeFailure failure = ProbeFailure::none;
  std::string error;                 // why, when failure != none
  int status = 0;                    // HTTP status when an answer came
  std::optional<std::time_t> date;   // the Date header, parsed
  bool tls = false;
  std::string tls_version;           // "TLSv1.3"
  std::string address;               // host:port reached
};

// `url`: ws://, wss://, http:// or https://. Never throws.
HttpProbeResult probe_http(const std::string& url, const HttpProbeOptions& options);

// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); nullopt otherwise. Pure.
std::optional<std::time_t> parse_http_date(const std::string& text);
// Formats `t` as an IMF-fixdate. Pure.
std::string format_http_date(std::time_t t);

}  // namespace hybrid::tunnel
