// Distinct types for the protocol's identifiers and keys, so that a tunnel ID can never
// be passed where a routing ID is expected.
#pragma once

#include <string>

#include "base/bytes.h"
#include "hybrid/constants.h"

namespace hybrid {

template <class Tag, size_t N>
struct FixedId {
  ByteArray<N> bytes{};
  static constexpr size_t size = N;
  static Result<FixedId> from(ByteView v, std::string_view what) {
    HYBRID_TRY(auto a, to_array<N>(v, what));
    return FixedId{a};
  }
  static Result<FixedId> from_hex(std::string_view hex, std::string_view what) {
    auto b = hex_decode(hex);
    if (!b) return b.error().with_context(std::string(what));
    return from(*b, what);
  }
  ByteView view() const { return bytes; }
  std::string hex() const { return hex_encode(bytes); }
  std::string hex_upper() const { return hex_encode_upper(bytes); }
  bool operator==(const FixedId&) const = default;
  bool operator<(const FixedId& o) const { return bytes < o.bytes; }
};

struct TunnelIdTag {};
struct RoutingIdTag {};
struct LinkIdTag {};
struct ClientNonceTag {};
struct AdvertNonceTag {};

using TunnelId = FixedId<TunnelIdTag, kTunnelIdSize>;
using RoutingId = FixedId<RoutingIdTag, kRoutingIdSize>;
using LinkId = FixedId<LinkIdTag, kLinkIdSize>;
using ClientNonce = FixedId<ClientNonceTag, kClientNonceSize>;
using AdvertNonce = FixedId<AdvertNonceTag, kNonceSize>;

// Secrets are SecretBytes of a known size (wiped on destruction).
using QrSecret = ByteArray<kQrSecretSize>;  // travels in the QR code; not wiped (it is shown)
using AdvertPlaintext = ByteArray<kAdvertPlaintextSize>;
using Advert = ByteArray<kAdvertSize>;
using HandshakeHash = ByteArray<kHandshakeHashSize>;

}  // namespace hybrid
