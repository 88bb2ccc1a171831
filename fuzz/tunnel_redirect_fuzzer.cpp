// Redirect handling in the tunnel client: a Location header (anything a tunnel server or
// a man in the middle of plain ws:// sends) resolved against the URL that answered.
// The input is "<base URL>\n<Location>". Whatever resolves must be a URL the client can
// use again (it round-trips through to_string()/parse_ws_url()), a relative Location must
// stay on the same scheme, host and port, and the path must be a path (abort() = a finding).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz/invariant.h"
#include "tunnel/url.h"

using namespace hybrid::tunnel;
using hybrid::fuzz::violated;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nl = text.find('\n');
  std::string_view base_text = nl == std::string_view::npos ? std::string_view("wss://cable.example.com/cable/new/00") : text.substr(0, nl);
  std::string_view location = nl == std::string_view::npos ? text : text.substr(nl + 1);
  auto base = parse_ws_url(base_text);
  if (!base) return 0;
  auto next = resolve_redirect(*base, location);
  if (!next) return 0;
  if (next->host.empty()) violated("a redirect resolved to a URL without a host");
  if (next->path.empty() || next->path[0] != '/') violated("a redirect resolved to a path that does not start with '/'");
  for (char c : next->path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) violated("a control character or space in a resolved path");
  }
  auto again = parse_ws_url(next->to_string());
  if (!again) violated("a resolved redirect does not parse again");
  if (again->host != next->host || again->port != next->port || again->tls != next->tls || again->path != next->path) {
    violated("a resolved redirect changed in its round trip");
  }
  const bool absolute = location.find("://") != std::string_view::npos || location.substr(0, 2) == "//";
  if (!absolute && (next->host != base->host || next->port != base->port || next->tls != base->tls)) {
    violated("a relative redirect moved to another origin");
  }
  if (location.substr(0, 2) == "//" && next->tls != base->tls) violated("a scheme-relative redirect changed the scheme");
  (void)next->host_header();
  return 0;
}
