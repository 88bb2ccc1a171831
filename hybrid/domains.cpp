#include "hybrid/domains.h"

#include "crypto/primitives.h"

namespace hybrid {

std::optional<std::string> tunnel_domain(uint16_t encoded) {
  constexpr size_t kAssigned = std::size(kAssignedTunnelDomains);
  if (encoded < kAssigned) return std::string(kAssignedTunnelDomains[encoded]);
  if (encoded < kFirstHashedDomainId) return std::nullopt;

  // Hash input: the prefix, the value as 2 bytes little-endian, and one NUL byte.
  Bytes input = to_bytes(kHashedDomainPrefix);
  input.push_back(static_cast<uint8_t>(encoded));
  input.push_back(static_cast<uint8_t>(encoded >> 8));
  input.push_back(0);
  auto digest = crypto::sha256(input);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | digest[i];

  static constexpr const char* kTlds[] = {"com", "org", "net", "info"};
  static constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string tld = kTlds[v & 3];
  v >>= 2;
  std::string name = "cable.";
  while (v != 0) {
    name.push_back(kBase32[v & 31]);
    v >>= 5;
  }
  return name + "." + tld;
}

bool is_known_domain_id(uint16_t encoded) {
  return encoded >= kFirstHashedDomainId || encoded < std::size(kAssignedTunnelDomains);
}

std::optional<uint16_t> assigned_domain_id(std::string_view host) {
  for (size_t i = 0; i < std::size(kAssignedTunnelDomains); ++i) {
    if (kAssignedTunnelDomains[i] == host) return static_cast<uint16_t>(i);
  }
  return std::nullopt;
}

std::optional<uint16_t> find_hashed_domain_id(std::string_view host) {
  for (uint32_t v = kFirstHashedDomainId; v <= 0xffff; ++v) {
    if (tunnel_domain(static_cast<uint16_t>(v)) == host) return static_cast<uint16_t>(v);
  }
  return std::nullopt;
}

std::string new_tunnel_url(const TunnelBase& base, const TunnelId& tunnel_id) {
  return base.base + std::string(kNewTunnelPath) + tunnel_id.hex_upper();
}

std::string connect_url(const TunnelBase& base, const RoutingId& routing_id, const TunnelId& tunnel_id) {
  return base.base + std::string(kConnectPath) + routing_id.hex_upper() + "/" + tunnel_id.hex_upper();
}

std::string contact_url(const TunnelBase& base, ByteView contact_id) {
  return base.base + std::string(kContactPath) + base64url_encode(contact_id);
}

}  // namespace hybrid
