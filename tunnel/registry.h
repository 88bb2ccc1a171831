// The tunnel service's state, without sockets: which tunnels are pending or paired, which
// connection is which side, what is queued, who is over a limit, and what to send or close
// next. The libwebsockets adapter (server.cpp) feeds it events and performs the actions it
// returns; tests drive it directly with a fake clock.
//
// Roles: the *initiator* opens a tunnel (/new in the QR flow — the phone; /contact in the
// linked flow — the client); the *joiner* joins it with /connect. A *push listener* is a
// linked software phone holding /cable/push/<contact id> open (docs/tunnel.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "crypto/primitives.h"
#include "hybrid/ids.h"
#include "tunnel/limits.h"
#include "tunnel/path.h"
#include "tunnel/push_binding_store.h"

namespace hybrid::tunnel {

using ConnId = uint64_t;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// WebSocket close codes the server sends (RFC 6455 §7.4.1, docs/protocol.md §7.3–7.4); the
// names are the RFC's.
enum class CloseCode : uint16_t {
  normal = 1000,            // the peer closed cleanly
  going_away = 1001,        // the peer vanished, or the server is shutting down
  unsupported_data = 1003,  // a text frame
  policy_violation = 1008,  // TTL, idle, too many messages, the peer broke a rule
  message_too_big = 1009,   // message larger than the limit
};
// The number in the close frame and the metrics label.
constexpr uint16_t wire_value(CloseCode code) { return static_cast<uint16_t>(code); }

// Why a request or a connection was refused or cut; the metrics' "reason" label.
enum class Reject {
  not_websocket,      // 400: a tunnel path without an upgrade
  no_subprotocol,     // 400: no "fido.cable" in Sec-WebSocket-Protocol
  bad_header,         // 400: malformed X-caBLE-Client-Payload / push secret
  method,             // 405: not GET
  unknown_path,       // 404: path does not parse
  unknown_tunnel,     // 404: /connect to a tunnel never seen (or forgotten)
  wrong_routing,      // 404: /connect with another node's routing id
  tunnel_gone,        // 410: /connect to a tunnel that is full or has ended
  duplicate_tunnel,   // 409: /new for a tunnel id already in use
  unknown_contact,    // 410: /contact for a contact id nobody registered
  push_secret,        // 403: /push with the wrong secret for a registered contact id
  pending_limit,      // 429: too many pending tunnels from this IP
  rate_limit,         // 429: too many refused requests from this IP this minute
  capacity,           // 503: connection or registration table full, or shutting down
  header_too_large,   // 431 (or dropped by the HTTP layer)
  handshake_timeout,  // dropped: upgrade request not complete in time
  connection_limit,   // 429: too many connections of any kind from this IP
  registration_limit, // 429: too many push registrations owned by this IP
  // Close reasons of established connections:
  text_frame,         // 1003
  message_too_big,    // 1009
  too_many_messages,  // 1008
  unexpected_message, // 1008: a push listener sent a non-keepalive message
  queue_full,         // 1008: the node's queued bytes would pass max_queued_bytes
};
inline constexpr int kRejectCount = static_cast<int>(Reject::queue_full) + 1;
std::string_view reject_name(Reject reason);
// The HTTP status for a refused request (0 for the close-only reasons).
int reject_status(Reject reason);

// What the adapter read from an upgrade request, besides the path.
struct UpgradeRequest {
  RequestPath path;
  std::string client_ip;
  std::optional<std::string> client_payload_hex;  // X-caBLE-Client-Payload
  bool signal_connection = false;                 // X-caBLE-Signal-Connection: true
  std::optional<std::string> push_secret;         // X-caBLE-Push-Secret
};

// The answer to an upgrade: 101 with optional headers, or a refusal.
struct Admission {
  int status = 101;
  std::optional<Reject> reason;      // set when refused
  std::string message;               // a line for the response body and the log
  std::optional<RoutingId> routing_id_header;  // X-caBLE-Routing-ID on /new
  bool echo_signal_connection = false;         // X-caBLE-Signal-Connection on /contact
  bool ok() const { return status == 101; }
};

struct Action {
  enum class Kind { send, close } kind;
  ConnId conn = 0;
  Bytes message;            // send: one whole binary message
  CloseCode close_code{};   // close: sent after everything already queued for conn
  std::string close_reason;
};

struct Counters {
  uint64_t tunnels_created = 0;    // /new and /contact admitted
  uint64_t pairings = 0;           // /connect admitted
  uint64_t messages_relayed = 0;   // messages handed to the peer (queued ones on delivery)
  uint64_t bytes_relayed = 0;
  uint64_t ttl_expiries = 0;
  uint64_t idle_timeouts = 0;
  uint64_t pushes_sent = 0;
  uint64_t pushes_dropped = 0;     // queue full, or tunnel gone before the phone came back
  uint64_t push_registrations = 0; // new contact ids bound to a secret
  uint64_t push_registrations_evicted = 0;  // oldest idle one dropped for a new one (table full)
  uint64_t push_registrations_expired = 0;  // phone away longer than the lifetime
  uint64_t rejects[kRejectCount] = {};
  std::map<CloseCode, uint64_t> closes;  // close codes the server sent
};

struct Gauges {
  size_t pending_tunnels = 0;
  size_t paired_tunnels = 0;
  size_t connections = 0;      // admitted WebSocket connections
  size_t push_listeners = 0;
  size_t push_registrations = 0;
  size_t ended_tunnels_remembered = 0;
  size_t tracked_ips = 0;
  size_t queued_bytes = 0;  // waiting for a peer, over the whole node
};

class Registry {
 public:
  // `bindings`: where contact id -> secret bindings are checked when this node has no
  // registration of its own for an id (shared between nodes, docs/tunnel.md); not owned;
  // nullptr = this registry's own table only.
  Registry(RoutingId routing_id, ServerLimits limits, PushBindingStore* bindings = nullptr);

  const RoutingId& routing_id() const { return routing_id_; }
  const ServerLimits& limits() const { return limits_; }
  // A reload (SIGHUP) with new limits: they apply to what happens from now on.
  void set_limits(const ServerLimits& limits) { limits_ = limits; }

  // Decides an upgrade request and, on 101, binds `conn` to its role. Refusals are counted
  // against the client's IP (see refused()).
  Admission admit(ConnId conn, const UpgradeRequest& request, TimePoint now);
  // True when this IP is over its refusal budget for the current minute (answer 429).
  bool rate_limited(const std::string& ip, TimePoint now);
  // Counts a refusal decided outside admit() (bad method, no subprotocol, garbage path…).
  void refused(Reject reason, const std::string& ip, TimePoint now);

  // One whole message from an admitted connection.
  void on_message(ConnId conn, ByteView message, bool binary, TimePoint now);
  // The adapter saw a message grow past max_message_size.
  void on_message_too_big(ConnId conn, TimePoint now);
  // The connection is gone (clean = it sent or answered a close frame).
  void on_closed(ConnId conn, bool clean, TimePoint now);
  // TTL and idle expiries, forgetting ended tunnels and idle IP records. Call about once a
  // second; cost is linear in the number of tunnels.
  void tick(TimePoint now);
  // Closes every connection with 1001 (graceful shutdown); later upgrades get 503.
  void shut_down();
  // Draining (SIGTERM): /new, /contact and /push get 503 from now on, push listeners are
  // closed with 1001 (their phones re-register on another node); pending tunnels may still
  // be joined with /connect and every tunnel runs to its end or TTL. Then shut_down().
  void drain();
  bool draining() const { return draining_; }

  // Actions produced since the last call, in order.
  std::vector<Action> take_actions();
  bool has_actions() const { return !actions_.empty(); }

  const Counters& counters() const { return counters_; }
  Gauges gauges() const;
  // For tests: is this connection still admitted?
  bool is_admitted(ConnId conn) const { return conns_.count(conn) != 0; }

 private:
  enum class Role { initiator, joiner, push_listener };
  struct Tunnel {
    ConnId initiator = 0;
    ConnId joiner = 0;
    TimePoint deadline;
    TimePoint last_activity;
    // initiator -> joiner, before the join. A list: libstdc++'s std::deque allocates ~600
    // bytes even when empty, and almost every pending tunnel queues nothing.
    std::list<Bytes> queued;
    uint32_t sent_by_initiator = 0;
    uint32_t sent_by_joiner = 0;
    bool signal_connection = false;
    std::string initiator_ip;
  };
  struct Conn {
    Role role;
    TunnelId tunnel{};  // initiator / joiner
    Bytes contact_id;   // push_listener
    TimePoint last_activity;
    std::string ip;     // counted in IpRecord::connections
  };
  struct Registration {
    crypto::Sha256Digest secret_hash{};
    ConnId listener = 0;
    // Pushes while the phone is away; a list for the same reason as Tunnel::queued.
    std::list<std::pair<TunnelId, Bytes>> queued;
    std::string owner_ip;  // the address that last registered or renewed it (if it had room)
    TimePoint last_seen;   // last connect or keepalive of its phone
  };
  struct IpRecord {
    uint32_t pending = 0;
    uint32_t refusals = 0;
    uint32_t connections = 0;    // admitted connections of every kind
    uint32_t registrations = 0;  // push registrations owned
    TimePoint window_start{};
  };
  struct TunnelIdHash {
    size_t operator()(const TunnelId& id) const;
  };
  struct BytesHash {
    size_t operator()(const Bytes& b) const;
  };

  Admission refuse(Reject reason, std::string message, const std::string& ip, TimePoint now);
  Admission admit_new(ConnId conn, const NewTunnelRequest& req, const UpgradeRequest& up, TimePoint now);
  Admission admit_connect(ConnId conn, const ConnectRequest& req, const UpgradeRequest& up, TimePoint now);
  Admission admit_contact(ConnId conn, const ContactRequest& req, const UpgradeRequest& up, TimePoint now);
  Admission admit_push(ConnId conn, const PushRequest& req, const UpgradeRequest& up, TimePoint now);

  void send(ConnId conn, Bytes message);
  void close(ConnId conn, CloseCode code, std::string reason);
  // Ends a tunnel: closes whichever sides are still open with the given codes, remembers
  // the id as ended until its deadline (so /connect gets 410), frees the pending slot.
  void end_tunnel(const TunnelId& id, CloseCode initiator_code, CloseCode joiner_code,
                  const std::string& reason, TimePoint now);
  void violation(ConnId conn, Reject reason, CloseCode code, const std::string& text, TimePoint now);
  void release_pending(Tunnel& tunnel);
  void deliver_queued_pushes(Registration& reg, TimePoint now);
  // Binds an admitted connection, counting it against its IP.
  void bind(ConnId conn, Conn c);
  void forget_conn_ip(const Conn& c);
  // Registration bookkeeping: the idle index orders registrations without a listener by
  // last_seen (eviction and expiry take the oldest first); the owner counts per IP.
  void mark_idle(const Bytes& contact_id, Registration& reg);
  void mark_connected(const Bytes& contact_id, Registration& reg);
  void set_owner(Registration& reg, const std::string& ip);
  void drop_registration(std::unordered_map<Bytes, Registration, BytesHash>::iterator it);
  void drop_queued(size_t bytes);

  RoutingId routing_id_;
  ServerLimits limits_;
  bool shutting_down_ = false;
  bool draining_ = false;
  PushBindingStore* bindings_ = nullptr;
  std::unordered_map<TunnelId, Tunnel, TunnelIdHash> tunnels_;
  std::unordered_map<TunnelId, TimePoint, TunnelIdHash> ended_;  // id -> forget at
  std::unordered_map<ConnId, Conn> conns_;
  std::unordered_map<Bytes, Registration, BytesHash> registrations_;
  std::unordered_map<std::string, IpRecord> ips_;
  std::set<std::pair<TimePoint, Bytes>> idle_registrations_;
  size_t queued_bytes_ = 0;
  std::vector<Action> actions_;
  Counters counters_;
  size_t paired_ = 0;
};

}  // namespace hybrid::tunnel
