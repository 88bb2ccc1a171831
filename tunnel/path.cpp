#include "tunnel/path.h"

#include "hybrid/constants.h"

namespace hybrid::tunnel {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

Result<Bytes> parse_contact_id(std::string_view text, std::string_view what) {
  if (text.empty()) return make_error(std::string(what) + " path has an empty contact id");
  if (text.find('/') != std::string_view::npos) {
    return make_error(std::string(what) + " path has extra segments after the contact id");
  }
  if (text.find('=') != std::string_view::npos) {
    return make_error(std::string(what) + " contact id must be base64url without padding");
  }
  auto id = base64url_decode(text);
  if (!id) return id.error().with_context(std::string(what) + " contact id");
  if (id->empty() || id->size() > kMaxContactIdSize) {
    return make_error(std::string(what) + " contact id must be 1.." +
                      std::to_string(kMaxContactIdSize) + " bytes, got " +
                      std::to_string(id->size()));
  }
  return id;
}

}  // namespace

bool is_websocket_path(const RequestPath& path) {
  return !std::holds_alternative<HealthRequest>(path) &&
         !std::holds_alternative<MetricsRequest>(path);
}

std::string_view path_kind(const RequestPath& path) {
  static constexpr std::string_view kNames[] = {"new", "connect", "contact",
                                                "push", "healthz", "metrics"};
  return kNames[path.index()];
}

Result<RequestPath> parse_request_path(std::string_view target) {
  if (target.size() > kMaxPathLength) {
    return make_error("request path is " + std::to_string(target.size()) +
                      " bytes, longer than the limit of " + std::to_string(kMaxPathLength));
  }
  auto query = target.find('?');
  std::string_view path = target.substr(0, query);
  if (path == kHealthPath) return RequestPath{HealthRequest{}};
  if (path == kMetricsPath) return RequestPath{MetricsRequest{}};

  if (starts_with(path, kNewTunnelPath)) {
    auto rest = path.substr(kNewTunnelPath.size());
    if (rest.size() != 2 * kTunnelIdSize) {
      return make_error("/cable/new/ needs a 32-hex-digit tunnel id and nothing after it");
    }
    HYBRID_TRY(auto id, TunnelId::from_hex(rest, "tunnel id"));
    return RequestPath{NewTunnelRequest{id}};
  }
  if (starts_with(path, kConnectPath)) {
    auto rest = path.substr(kConnectPath.size());
    // <6 hex>/<32 hex>, nothing else.
    if (rest.size() != 2 * kRoutingIdSize + 1 + 2 * kTunnelIdSize || rest[2 * kRoutingIdSize] != '/') {
      return make_error(
          "/cable/connect/ needs <6 hex routing id>/<32 hex tunnel id> and nothing after it");
    }
    HYBRID_TRY(auto routing, RoutingId::from_hex(rest.substr(0, 2 * kRoutingIdSize), "routing id"));
    HYBRID_TRY(auto tunnel, TunnelId::from_hex(rest.substr(2 * kRoutingIdSize + 1), "tunnel id"));
    return RequestPath{ConnectRequest{routing, tunnel}};
  }
  if (starts_with(path, kContactPath)) {
    HYBRID_TRY(auto id, parse_contact_id(path.substr(kContactPath.size()), "/cable/contact/"));
    return RequestPath{ContactRequest{std::move(id)}};
  }
  if (starts_with(path, kPushPath)) {
    HYBRID_TRY(auto id, parse_contact_id(path.substr(kPushPath.size()), "/cable/push/"));
    return RequestPath{PushRequest{std::move(id)}};
  }
  return make_error("unknown path (expected /cable/new/, /cable/connect/, /cable/contact/, "
                    "/cable/push/, /healthz or /metrics)");
}

std::string new_tunnel_path(const TunnelId& tunnel_id) {
  return std::string(kNewTunnelPath) + tunnel_id.hex_upper();
}

std::string connect_path(const RoutingId& routing_id, const TunnelId& tunnel_id) {
  return std::string(kConnectPath) + routing_id.hex_upper() + "/" + tunnel_id.hex_upper();
}

std::string contact_path(ByteView contact_id) {
  return std::string(kContactPath) + base64url_encode(contact_id);
}

std::string push_path(ByteView contact_id) {
  return std::string(kPushPath) + base64url_encode(contact_id);
}

}  // namespace hybrid::tunnel
