// The tunnel server's limits. Defaults follow the field data in docs/protocol.md §7.4 (webauthn-rs'
// open server: 120 s TTL, 16 messages per side, 16 KiB messages) and are all configurable.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hybrid::tunnel {

struct ServerLimits {
  // A tunnel lives this long from its /new (or /contact), paired or not (§7.4).
  std::chrono::seconds tunnel_ttl{120};
  // Messages one side may send over the tunnel's life, queued ones included (§7.4).
  uint32_t max_messages_per_side = 16;
  // Largest message relayed; bigger closes the sender with 1009 (§7.4).
  size_t max_message_size = 16 * 1024;
  // Tunnels waiting for their peer (/new and /contact) per client IP address.
  uint32_t max_pending_per_ip = 100;
  // WebSocket connections held at once (tunnel sides and push listeners); beyond: 503.
  uint32_t max_connections = 10000;
  // Time a client has to complete its HTTP upgrade request (slow senders are dropped).
  std::chrono::seconds handshake_timeout{10};
  // A paired tunnel with no message in either direction for this long is closed (1008).
  std::chrono::seconds idle_timeout{90};
  // A push listener that sends no keepalive for this long is closed (1008).
  std::chrono::seconds push_idle_timeout{300};
  // Push registrations (contact id -> secret hash) kept in memory.
  uint32_t max_push_registrations = 100000;
  // Pushes kept for a registered phone that is not connected (oldest dropped first).
  uint32_t max_queued_pushes = 4;
  // Refused requests one IP address may cause per minute before it gets 429 for the rest
  // of that minute (floods of bogus paths or /connect guesses).
  uint32_t max_refusals_per_ip_per_minute = 600;
  // Largest HTTP request header block; bigger is refused by the HTTP layer.
  uint32_t max_header_bytes = 4096;
};

}  // namespace hybrid::tunnel
