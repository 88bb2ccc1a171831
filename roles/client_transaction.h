// The PC's side of one hybrid transaction, wired end to end: QR code (or a linked phone),
// BLE advert through a Radio, the tunnel through the tunnel client, the Noise handshake
// and one CTAP command through ClientSession. Used by `hybrid sign-in`/`register`, the
// kiosk and the security-key bridge. Blocking (run it on its own thread). It runs as named
// stages (client_transaction.cpp: choose path, announce, advert, tunnel, handshake, CTAP),
// each with a deadline; one std::stop_token, requested from any thread, ends whichever
// stage runs promptly and cleanly (discovery stopped, tunnel closed) with `cancelled`.
// A linked phone that cannot be reached is retried with a QR code by
// roles/linked_then_qr.h, not here.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "ble/radio.h"
#include "hybrid/client_session.h"
#include "roles/client_failure.h"
#include "roles/link_store.h"

namespace hybrid::roles {

// The stages a person sees, in order (progress lines, the kiosk's live status).
enum class Stage {
  qr_shown,            // the QR code is ready (ClientProgress::qr_url)
  contacting_phone,    // linked flow: /cable/contact sent, waiting for the phone
  advert_seen,         // the phone is near
  tunnel_connected,    // the WebSocket to the tunnel server is open
  handshake_done,      // Noise done, encrypted channel up
  waiting_for_user,    // the CTAP command is on the phone; the person confirms there
  done,
};
std::string_view stage_name(Stage stage);  // "qr shown", "advert seen", …

struct ClientProgress {
  Stage stage;
  std::chrono::milliseconds elapsed{0};
  std::string detail;   // human text, no secrets
  std::string qr_url;   // set with Stage::qr_shown
};


struct ClientTransactionOptions {
  // Where tunnels are: empty = the domain the advert (or the link) names, over wss://;
  // "ws://127.0.0.1:PORT" (or wss://host) replaces it (tests, private servers).
  std::string tunnel_override;
  std::string ca_file;  // trust these CAs instead of the system store
  // The whole transaction; the handshake and CTAP stages have what is left of it.
  std::chrono::milliseconds timeout{120000};
  std::chrono::milliseconds advert_timeout{60000};  // the advert stage (BLE scan)
  std::chrono::milliseconds connect_timeout{15000};  // each tunnel connection
  // After the answer, how long to wait for a late linking Update (QR flow only, when the
  // QR offered linking and none arrived yet).
  std::chrono::milliseconds late_update_grace{1500};
  qr::RequestType request_type = qr::RequestType::get_assertion;
  // QR key 4. Set to true only when there is a link store to keep what arrives.
  bool offer_linking = false;
  // Linked flow: reach this phone through /cable/contact instead of a QR code.
  std::optional<LinkRecord> linked_phone;
  std::function<void(const ClientProgress&)> on_progress;
  // Called with each new key-log line (HYBRID_KEYLOG); may be empty.
  std::function<void(const std::string&)> on_keylog;
};

struct ClientTransactionResult {
  uint8_t ctap_status = 0;
  Bytes ctap_body;                       // the CBOR response (empty on errors)
  PostHandshakeMessage post_handshake;   // the phone's getInfo and features
  std::optional<LinkingInfo> linking;    // verified linking data (QR flow), to store
  uint16_t domain_id = 0;                // the tunnel domain the phone used
  std::string phone_name;                // linked flow: the link's name
};

class ClientTransaction {
 public:
  ClientTransaction(ble::Radio& radio, ClientTransactionOptions options);
  ~ClientTransaction();

  // Runs the whole transaction and sends `ctap_command` ‖ `ctap_params` (one command).
  // A CTAP error status from the phone is a result, not an Error. A stop requested on
  // `stop` (from any thread; a signal handler goes through app/interrupt_watcher.h) ends
  // it with `cancelled`; a token stopped before the call ends it before anything starts.
  Result<ClientTransactionResult> run(uint8_t ctap_command, ByteView ctap_params, std::stop_token stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybrid::roles
