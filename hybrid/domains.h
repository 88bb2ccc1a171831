// §6: tunnel-server domains (assigned list and hashed names) and tunnel URLs.
#pragma once

#include <optional>
#include <string>

#include "hybrid/ids.h"

namespace hybrid {

// The host name for an encoded domain value: 0/1 → the assigned names, ≥ 256 → the
// hashed name, 2..255 → nullopt (reserved, must be rejected).
std::optional<std::string> tunnel_domain(uint16_t encoded);

// §6.3: usable iff ≥ 256 or an assigned index this implementation knows.
bool is_known_domain_id(uint16_t encoded);

// The encoded value for a host name, if it is an assigned name (0/1); hashed names are
// not reversible (search 256..65535 with find_hashed_domain_id when needed).
std::optional<uint16_t> assigned_domain_id(std::string_view host);
std::optional<uint16_t> find_hashed_domain_id(std::string_view host);

// Where tunnel URLs point: a real domain (wss://<domain>) or, for tests and private
// deployments, an override base such as "ws://127.0.0.1:8080" (no trailing slash).
struct TunnelBase {
  std::string base;  // "wss://cable.ua5v.com" or the override
  static TunnelBase for_domain(const std::string& domain) { return {"wss://" + domain}; }
};

// §6.4; hex is upper-case as Chromium emits it.
std::string new_tunnel_url(const TunnelBase& base, const TunnelId& tunnel_id);
std::string connect_url(const TunnelBase& base, const RoutingId& routing_id, const TunnelId& tunnel_id);
std::string contact_url(const TunnelBase& base, ByteView contact_id);

}  // namespace hybrid
