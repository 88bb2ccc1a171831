// The software phone's side of hybrid transactions, wired end to end: /cable/new (QR) or
// /cable/connect (pushed by a linked client's /contact), the BLE advert through a Radio,
// the Noise responder and the CTAP authenticator. Blocking, with deadlines; cancel() from
// any thread. The advert stops on every exit path.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "ble/radio.h"
#include "ctap/authenticator.h"
#include "roles/phone_identity.h"
#include "tunnel/push_message.h"

namespace hybrid::roles {

// Stages of one transaction, for callers that report them as data (`hybrid browser`).
enum class PhoneStage {
  tunnel_joined,    // the tunnel server accepted the phone's WebSocket
  advertising,      // the BLE advert is up
  handshake_done,
  ctap_command,     // value: the command byte
  ctap_status,      // value: the status byte of the answer
  client_shutdown,
};

struct PhoneOptions {
  std::string tunnel_base;  // "ws://127.0.0.1:PORT" or "wss://cable.example.org"
  std::string ca_file;
  uint16_t domain_id = 0;   // the tunnel-domain number put in the advert (docs/protocol.md §6)
  bool offer_linking = false;
  std::chrono::milliseconds timeout{120000};          // one transaction
  std::chrono::milliseconds connect_timeout{15000};
  // Waits this long before answering each request (a person reading the prompt).
  std::chrono::milliseconds think_time{0};
  std::function<void(const std::string&)> on_progress;

  // The push channel (listen_for_linked_clients). The server announces how long it waits
  // for a keepalive (X-caBLE-Push-Idle-Timeout); the phone sends one (an empty binary
  // message, answered by an empty one) every third of that. A server that announces
  // nothing is assumed to wait `assumed_push_idle_timeout` (the server's default).
  std::chrono::milliseconds keepalive_interval{0};  // > 0: use this instead of a third
  std::chrono::milliseconds assumed_push_idle_timeout{300000};
  // No answer to a keepalive within this long (capped at the interval): the channel is
  // dead (half-open connection, node gone) and the phone reconnects.
  std::chrono::milliseconds keepalive_answer_timeout{10000};
  // Reconnection: exponential backoff with jitter from `reconnect_initial` up to
  // `reconnect_max` per attempt, for as long as the phone listens.
  std::chrono::milliseconds reconnect_initial{500};
  std::chrono::milliseconds reconnect_max{30000};
  // Re-register (a fresh /push) this often, give or take 10 %, even on a healthy channel:
  // behind HAProxy this refreshes the contact id's sticky entry, and after the hash ring
  // changed it brings the phone back to the node its contact id maps to (docs/tunnel.md).
  std::chrono::milliseconds push_renew_interval{30 * 60 * 1000};
  std::function<void(PhoneStage, int value)> on_stage;  // optional
};

struct PhoneOutcome {
  uint8_t command = 0;         // the CTAP command served
  uint8_t status = 0;          // its CTAP status
  bool linking_sent = false;
  bool linked_flow = false;
};

class PhoneRunner {
 public:
  PhoneRunner(ble::Radio& radio, ctap::SoftwareAuthenticator& authenticator, const PhoneIdentity& identity,
              PhoneOptions options);
  ~PhoneRunner();

  // One QR-initiated transaction from a scanned QR code.
  Result<PhoneOutcome> serve_qr(const qr::QrPayload& qr);
  // One linked transaction from a push (the client's /contact).
  Result<PhoneOutcome> serve_push(const tunnel::PushMessage& push);
  // Holds the push channel open and serves every linked client until cancel() or until
  // `max_transactions` have been served (0 = unlimited). Sends keepalives, notices a dead
  // channel, and reconnects with backoff and jitter after any failure, without giving up;
  // it returns an error only when the server refuses the phone for good (400, 403).
  // `on_ready` runs once, when the push channel is first open (a ready line printed then
  // tells callers that a /contact can reach the phone).
  Status listen_for_linked_clients(int max_transactions,
                                   const std::function<void(const Result<PhoneOutcome>&)>& on_done,
                                   const std::function<void()>& on_ready = {});

  void cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybrid::roles
