// ws:// and wss:// URLs as the tunnel client uses them, and redirect resolution (an HTTP
// Location, relative or absolute, against the URL that answered). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace hybrid::tunnel {

struct WsUrl {
  bool tls = true;       // wss
  std::string host;      // name or address; IPv6 without brackets
  uint16_t port = 443;   // defaulted from the scheme when absent
  std::string path = "/";  // starts with '/', may carry a query

  std::string to_string() const;  // canonical form, port omitted when it is the default
  std::string host_header() const;  // host[:port] as the Host header wants it
};

// Accepts ws://, wss:// (and http://, https:// as their WebSocket twins, since a Location
// header may use them). No user-info, no fragment.
Result<WsUrl> parse_ws_url(std::string_view text);

// Resolves a Location header against the URL that answered with a redirect: absolute URLs
// are kept, "/path" replaces the path, "//host/path" keeps the scheme, "rel" replaces the
// last path segment. A redirect from wss:// to ws:// is refused (never downgrade).
Result<WsUrl> resolve_redirect(const WsUrl& base, std::string_view location);

// Same scheme, host (case-insensitive) and port: only then may a redirected request carry
// the caller's secret-bearing headers.
bool same_origin(const WsUrl& a, const WsUrl& b);

}  // namespace hybrid::tunnel
