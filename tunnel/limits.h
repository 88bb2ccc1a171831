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
  // Push registrations (contact id -> secret hash) kept in memory. When the table is full a
  // new registration evicts the one idle (no listener connected) for the longest time; if
  // every registration has its phone connected, the new one is refused with 503.
  uint32_t max_push_registrations = 100000;
  // Registrations one IP address may own at once (the address that last registered or
  // renewed it, if that address had room; else the previous one keeps it); beyond: 429. Phones behind one carrier NAT share an address: keep it well
  // above the number of linked phones expected behind one.
  uint32_t max_push_registrations_per_ip = 200;
  // A registration whose phone has not been connected for this long is forgotten (its
  // clients get 410 and must link again). A phone renews it by being connected: every
  // keepalive and every reconnect counts.
  std::chrono::seconds push_registration_lifetime{7 * 24 * 3600};
  // WebSocket connections of every kind (tunnel sides, self-paired tunnels, push
  // listeners) one IP address may hold at once; beyond: 429.
  uint32_t max_connections_per_ip = 400;
  // Bytes the node keeps queued for peers that are not there yet (messages before the join,
  // pushes for offline phones), over all tunnels and registrations. A message that would go
  // past it closes its sender with 1008; a push that would is dropped.
  size_t max_queued_bytes = 64 * 1024 * 1024;
  // Pushes kept for a registered phone that is not connected (oldest dropped first).
  uint32_t max_queued_pushes = 4;
  // Refused requests one IP address may cause per minute before it gets 429 for the rest
  // of that minute (floods of bogus paths or /connect guesses).
  uint32_t max_refusals_per_ip_per_minute = 600;
  // Largest HTTP request header block; bigger is refused by the HTTP layer.
  uint32_t max_header_bytes = 4096;
};

}  // namespace hybrid::tunnel
