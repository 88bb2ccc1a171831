// What the sans-I/O sessions hand back to their adapters: bytes to send on the tunnel
// and events for the application.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "hybrid/ids.h"
#include "hybrid/linking.h"
#include "hybrid/post_handshake.h"

namespace hybrid {

// Error codes (Error::code) of both sessions.
enum class SessionError {
  wrong_state = 1,          // an input that the current state does not expect (a bug in the caller)
  handshake_failed = 2,     // §12 HandshakeFailed
  post_handshake_failed = 3,
  decrypt_failed = 4,
  protocol_violation = 5,   // bad framing, unexpected message type, reply type mismatch
  peer_closed = 6,          // the other side closed the tunnel before the transaction ended
  no_ctap = 7,              // the phone does not offer CTAP
  bad_qr = 8,
};
HYBRID_ERROR_DOMAIN(SessionError, "hybrid session")

// The advert matched: proximity proven; for the QR flow, where the phone waits.
struct AdvertMatched {
  RoutingId routing_id;
  uint16_t domain_id = 0;
};
// Linked flow: the tunnel server's connect signal (the phone joined).
struct PhoneConnected {};
struct HandshakeComplete {
  HandshakeHash handshake_hash{};
};
// Client: the phone's post-handshake message (getInfo and features).
struct PostHandshakeReceived {
  PostHandshakeMessage message;
};
// Client: the phone's answer to a CTAP command (status ‖ CBOR split).
struct CtapResponse {
  uint8_t status = 0;
  Bytes body;
};
// Client: verified linking information from a QR transaction (store it).
struct LinkingReceived {
  LinkingInfo info;
};
// Client: linking information that failed checks; ignored (never evicts a stored link).
struct LinkingIgnored {
  std::string reason;
};
// Phone: a CTAP command from the client.
struct CtapRequest {
  uint8_t command = 0;
  Bytes params;  // CBOR, possibly empty
};
// Phone: the client ended the transaction (Shutdown message).
struct ClientShutdown {};

using SessionEvent = std::variant<AdvertMatched, PhoneConnected, HandshakeComplete, PostHandshakeReceived,
                                  CtapResponse, LinkingReceived, LinkingIgnored, CtapRequest, ClientShutdown>;

struct SessionOutput {
  std::vector<Bytes> to_send;  // tunnel messages, in order
  std::vector<SessionEvent> events;

  void append(SessionOutput&& other) {
    for (auto& b : other.to_send) to_send.push_back(std::move(b));
    for (auto& e : other.events) events.push_back(std::move(e));
  }
  template <class T>
  const T* find() const {
    for (const auto& e : events) {
      if (const T* t = std::get_if<T>(&e)) return t;
    }
    return nullptr;
  }
};

}  // namespace hybrid
