// The phone's side of one hybrid transaction as a sans-I/O state machine: from a scanned
// QR code (or a linked client's contact request) to the advert, the Noise responder, the
// post-handshake message, optional linking data and the CTAP exchange. The CTAP brain
// itself (ctap/) is outside: the session hands out CtapRequest events and takes the
// answers. Secrets are wiped when it is destroyed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/p256.h"
#include "hybrid/client_payload.h"
#include "hybrid/noise.h"
#include "hybrid/session_events.h"
#include "qr/payload.h"

namespace hybrid {

// What the phone offers to a client that supports linking (QR key 4 = true).
struct LinkingOffer {
  const crypto::P256KeyPair* identity = nullptr;  // the phone's long-term identity key
  Bytes contact_id;
  Bytes link_id;
  SecretBytes link_secret;
  std::string name;
};

struct AuthenticatorConfig {
  Bytes get_info;                             // getInfo response CBOR (no status byte)
  std::vector<std::string> features = {"ctap"};
  uint16_t domain_id = 0;                     // tunnel-server domain put in the advert
  // Chromium phones always send one Update after the post-handshake message in the QR
  // flow, padded to 528 bytes, linking or not (§9.6).
  bool send_update = true;
};

class AuthenticatorSession {
 public:
  enum class State { awaiting_tunnel, awaiting_handshake, established, closed, failed };

  // QR flow: from the parsed QR code. Linking data is sent iff `linking` is set and the
  // QR says the client supports linking.
  static AuthenticatorSession start_qr(const qr::QrPayload& qr, AuthenticatorConfig config,
                                       std::optional<LinkingOffer> linking = std::nullopt);
  // Linked flow: from a contact request pushed by the tunnel server.
  static AuthenticatorSession start_linked(const crypto::P256KeyPair& identity, ByteView link_secret,
                                           const ClientPayload& payload, AuthenticatorConfig config);

  AuthenticatorSession(AuthenticatorSession&&) noexcept;
  AuthenticatorSession& operator=(AuthenticatorSession&&) noexcept;
  ~AuthenticatorSession();

  HandshakeFlow flow() const;
  State state() const;
  // QR flow: the tunnel to open with /cable/new/<id>.
  const TunnelId& tunnel_id() const;

  // The tunnel is open (QR: /new answered with this routing ID; linked: /connect done,
  // routing ID unused). Returns the 20-byte advert to broadcast until the handshake.
  Advert on_tunnel_ready(const RoutingId& routing_id);
  // For tests: fix the advert's random parts.
  void set_advert_plaintext_for_testing(const AdvertPlaintext& plaintext);

  // One binary message from the tunnel: first the client's handshake message, then CTAP
  // requests, Updates and the Shutdown.
  Result<SessionOutput> on_message(ByteView message);
  // Answers the outstanding CTAP request: status byte ‖ CBOR.
  Result<SessionOutput> send_ctap_response(ByteView status_and_body);
  // The tunnel closed: an error if the client left mid-transaction.
  Status on_tunnel_closed();

  // For tests: a fixed ephemeral key for the handshake.
  void set_ephemeral_for_testing(crypto::P256KeyPair key);

  struct Impl;  // opaque; public only so that the .cpp's helpers can take it

 private:
  explicit AuthenticatorSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybrid
