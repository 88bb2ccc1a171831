// The tunnel service's request paths (docs/protocol.md §6.4, §7.2), parsed without any I/O so that the
// server, the client and the fuzzer share one grammar:
//   /cable/new/<32 hex tunnel id>
//   /cable/connect/<6 hex routing id>/<32 hex tunnel id>
//   /cable/contact/<base64url contact id>
//   /cable/push/<base64url contact id>      (our push channel for linked software phones)
//   /healthz, /metrics                      (operations)
// Hex is accepted in either case; ids are emitted upper-case (Chromium's form).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "base/bytes.h"
#include "hybrid/ids.h"

namespace hybrid::tunnel {

// The longest request path (including any query) the server looks at; longer is 414-ish
// garbage and is answered 404 without being parsed.
inline constexpr size_t kMaxPathLength = 1024;
// Contact ids are opaque to the server (Chrome-on-Android hands out an FCM token);
// bounded so that a registration cannot be used to store arbitrary data.
inline constexpr size_t kMaxContactIdSize = 512;

inline constexpr std::string_view kPushPath = "/cable/push/";
inline constexpr std::string_view kHealthPath = "/healthz";
inline constexpr std::string_view kMetricsPath = "/metrics";

struct NewTunnelRequest {
  TunnelId tunnel_id;
};
struct ConnectRequest {
  RoutingId routing_id;
  TunnelId tunnel_id;
};
struct ContactRequest {
  Bytes contact_id;
};
struct PushRequest {
  Bytes contact_id;
};
struct HealthRequest {};
struct MetricsRequest {};

using RequestPath = std::variant<NewTunnelRequest, ConnectRequest, ContactRequest, PushRequest,
                                 HealthRequest, MetricsRequest>;

// True for the paths that must arrive as a WebSocket upgrade (everything but /healthz and
// /metrics).
bool is_websocket_path(const RequestPath& path);
// A short name for logs and metrics: "new", "connect", "contact", "push", "healthz", "metrics".
std::string_view path_kind(const RequestPath& path);

// Parses a request target. A query string ("?…") is ignored. Every failure means "no such
// resource" (the server answers 404); the message says what was wrong.
Result<RequestPath> parse_request_path(std::string_view target);

std::string new_tunnel_path(const TunnelId& tunnel_id);
std::string connect_path(const RoutingId& routing_id, const TunnelId& tunnel_id);
std::string contact_path(ByteView contact_id);
std::string push_path(ByteView contact_id);

}  // namespace hybrid::tunnel
