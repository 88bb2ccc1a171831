// Fuzzes the tunnel's request-path grammar and the client's URL/redirect parser: any input
// must parse or fail cleanly, and whatever parses must round-trip through the builders.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tunnel/path.h"
#include "tunnel/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace hybrid::tunnel;
  auto parsed = parse_request_path(text);
  if (parsed) {
    std::string rebuilt;
    if (auto* n = std::get_if<NewTunnelRequest>(&*parsed)) rebuilt = new_tunnel_path(n->tunnel_id);
    if (auto* c = std::get_if<ConnectRequest>(&*parsed)) rebuilt = connect_path(c->routing_id, c->tunnel_id);
    if (auto* c = std::get_if<ContactRequest>(&*parsed)) rebuilt = contact_path(c->contact_id);
    if (auto* p = std::get_if<PushRequest>(&*parsed)) rebuilt = push_path(p->contact_id);
    if (!rebuilt.empty()) {
      auto again = parse_request_path(rebuilt);
      if (!again || again->index() != parsed->index()) abort();
    }
  }
  auto url = parse_ws_url(text);
  if (url) {
    auto again = parse_ws_url(url->to_string());
    if (!again || again->host != url->host || again->port != url->port || again->tls != url->tls) abort();
    (void)resolve_redirect(*url, text.substr(size / 2));
  }
  return 0;
}
