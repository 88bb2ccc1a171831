// The client (PC) side of one hybrid transaction as a sans-I/O state machine: it makes
// the QR code (or uses a stored link), matches BLE adverts, runs the Noise initiator,
// reads the phone's post-handshake message and linking data, and carries CTAP commands.
// Adapters feed it adverts, tunnel events and tunnel messages; it returns bytes to send
// and events. Secrets are wiped when it is destroyed.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "crypto/p256.h"
#include "hybrid/client_payload.h"
#include "hybrid/crypter.h"
#include "hybrid/domains.h"
#include "hybrid/noise.h"
#include "hybrid/session_events.h"
#include "qr/payload.h"

namespace hybrid {

// What a client remembers about a linked phone (docs/protocol.md §10.3).
struct StoredLink {
  Bytes contact_id;
  Bytes link_id;
  SecretBytes link_secret;
  crypto::P256PublicKey phone_public_key;
  std::string name;
  uint16_t domain_id = 0;
};

class ClientSession {
 public:
  enum class State {
    awaiting_advert,          // QR shown / contact sent; scanning
    awaiting_tunnel,          // advert seen; connecting to the tunnel
    awaiting_handshake,       // message 1 sent
    awaiting_post_handshake,  // handshake done
    ready,                    // may send a CTAP command
    awaiting_response,        // a CTAP command is outstanding
    shut_down,                // Shutdown sent; late Updates still processed
    closed,                   // the tunnel closed
    failed,
  };

  struct QrOptions {
    qr::RequestType request_type = qr::RequestType::get_assertion;
    std::optional<bool> offer_linking;  // QR key 4 (emit only when set; §11: always emit)
    uint64_t now_unix = 0;
    // For tests and replays: fixed keys instead of fresh random ones.
    std::optional<crypto::P256KeyPair> identity;
    std::optional<QrSecret> secret;
    std::optional<crypto::P256KeyPair> ephemeral;  // the handshake's (fuzzers, replays)
  };
  static ClientSession start_qr(QrOptions options);

  struct LinkedOptions {
    std::string request_hint = "ga";  // "ga" or "mc"
    std::optional<ClientNonce> client_nonce;  // for tests and replays
    std::optional<crypto::P256KeyPair> ephemeral;  // the handshake's (fuzzers, replays)
  };
  static ClientSession start_linked(const StoredLink& link, LinkedOptions options);

  ClientSession(ClientSession&&) noexcept;
  ClientSession& operator=(ClientSession&&) noexcept;
  ~ClientSession();

  HandshakeFlow flow() const;
  State state() const;

  // QR flow.
  const std::string& qr_url() const;
  const qr::QrPayload& qr_payload() const;
  const TunnelId& tunnel_id() const;
  // Linked flow: where and what to send in the /cable/contact request.
  ByteView contact_id() const;
  std::string client_payload_header() const;
  uint16_t linked_domain_id() const;

  // Every BLE service-data payload seen (0xFFF9 or 0xFDE2). Adverts that are not ours,
  // repeats and anything after the first match give an empty output, never an error.
  SessionOutput on_advert(ByteView service_data);
  // Non-matching adverts remembered to skip their repeats (bounded by kMaxSeenAdverts).
  size_t adverts_remembered() const;
  static constexpr size_t kMaxSeenAdverts = 1024;
  // The tunnel WebSocket is open (QR: /connect; linked: /contact). Sends message 1 as
  // soon as both the tunnel is open and the advert has been seen.
  Result<SessionOutput> on_tunnel_open();
  // One binary message from the tunnel.
  Result<SessionOutput> on_message(ByteView message);
  // Sends a CTAP command (command byte + CBOR parameters). A getInfo without parameters
  // is answered locally from the post-handshake message, as Chromium does.
  Result<SessionOutput> send_ctap(uint8_t command, ByteView params);
  // Ends the transaction with an encrypted Shutdown; later Update messages still count.
  Result<SessionOutput> shutdown();
  // The tunnel closed. An error if the phone left before answering or before the
  // handshake finished; otherwise fine.
  Status on_tunnel_closed();

  // The cached getInfo response (after the post-handshake message).
  const std::optional<PostHandshakeMessage>& post_handshake() const;
  const std::optional<HandshakeHash>& handshake_hash() const;

  // HYBRID_KEYLOG support (debugging interop, like TLS key logs): a JSON line with the
  // QR secret (or link secret and client nonce) and the static and ephemeral private
  // keys, available once message 1 has been built. Handle as a secret.
  std::optional<std::string> keylog_line() const;

  struct Impl;  // opaque; public only so that the .cpp's helpers can take it

 private:
  explicit ClientSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

std::string_view client_state_name(ClientSession::State state);

}  // namespace hybrid
