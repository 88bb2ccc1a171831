// The kiosk: one screen, one visitor at a time. A worker thread keeps a fresh QR code on
// screen (sign in by default, or "create a passkey" for a name the visitor typed), follows
// the phone through the stages, verifies the answer with the relying party, shows the
// outcome for a few seconds and starts over. The QR code is replaced after `qr_timeout`
// when no phone answered it. Everything the page needs is in state_json(); observers
// are told when it changes (the web server pushes it to every open page).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "demo/kiosk_rp.h"
#include "demo/phone_channel.h"

namespace hybrid::demo {

// Where the page's "act as the phone" command lines point.
struct PhoneCommandHint {
  std::string program = "hybrid";  // the hybrid binary
  std::string tunnel_url;          // ws://127.0.0.1:PORT
  std::string dbus_address;        // the virtual air's bus
  std::string synced_store;        // phone store files (created by `hybrid demo`)
  std::string device_bound_store;
  uint16_t domain_id = 0;
};

// `hybrid phone --qr '…' --store … --tunnel … --domain-id N --kind KIND --approve auto
// --dbus-address '…'`, shell-quoted.
std::string phone_command_line(const PhoneCommandHint& hint, std::string_view qr_url, std::string_view kind);
// Quotes `s` for a POSIX shell when it needs quoting.
std::string shell_quote(std::string_view s);

struct KioskOptions {
  std::chrono::milliseconds qr_timeout{60000};   // a QR code nobody answered is replaced
  std::chrono::milliseconds clear_after{8000};   // how long an outcome stays on screen
  int registration_rotations = 3;  // a "create a passkey" code falls back to sign-in after this many
  size_t history_size = 6;         // recent outcomes listed on the page
  std::string title = "Hybrid passkey kiosk";
  PhoneCommandHint phone;
};

enum class Phase {
  preparing,   // building the ceremony
  scan,        // the QR code is shown
  nearby,      // the phone's advert matched
  connected,   // tunnel + encrypted channel up
  confirm,     // waiting for the visitor on the phone
  verifying,   // the relying party checks the answer
  done,        // outcome shown until it clears
};
std::string_view phase_name(Phase phase);

// A snapshot of what the screen shows.
struct KioskSnapshot {
  uint64_t seq = 0;             // increases with every change
  CeremonyKind mode = CeremonyKind::sign_in;
  std::string user;             // registration: the account
  Phase phase = Phase::preparing;
  std::vector<Phase> trail;     // every phase this visit went through, in order
  std::string qr_url;           // empty until shown
  uint64_t qr_number = 0;       // how many codes were shown so far
  std::optional<VisitOutcome> outcome;
  std::string message;          // the status line
};

class Kiosk {
 public:
  // `rp` and `channel` must outlive the kiosk.
  Kiosk(KioskRelyingParty& rp, PhoneChannel& channel, KioskOptions options);
  ~Kiosk();  // stops
  Kiosk(const Kiosk&) = delete;
  Kiosk& operator=(const Kiosk&) = delete;

  void start();  // the worker thread
  void stop();   // cancels the running exchange and joins

  // From any thread: replace what is on screen (the running exchange is cancelled).
  void request_sign_in();
  Status request_registration(const std::string& user_name, const std::string& display_name = "");
  // Ends the current visit and goes back to a fresh sign-in code.
  void cancel_visit();

  KioskSnapshot snapshot() const;
  uint64_t seq() const;
  // The page's view: snapshot, QR as SVG, command lines, countdowns, directory, profiles.
  nlohmann::json state_json() const;

  // Waits until `pred` holds for a snapshot (checked at every change) or the timeout.
  std::optional<KioskSnapshot> wait_for(const std::function<bool(const KioskSnapshot&)>& pred,
                                        std::chrono::milliseconds timeout) const;

  // Called (from the worker thread) after every change; must not block or call the kiosk.
  // Once set_observer() returns, the previous observer is no longer running.
  void set_observer(std::function<void()> on_change);

  const KioskOptions& options() const { return options_; }

 private:
  struct Request {
    CeremonyKind kind = CeremonyKind::sign_in;
    std::string user, display_name;
  };
  void run();
  void visit(const Request& request);
  bool linger_until_cleared();
  void update(const std::function<void(KioskSnapshot&)>& change);
  void progress(const ChannelProgress& p);
  void replace_request(std::optional<Request> next);

  KioskRelyingParty& rp_;
  PhoneChannel& channel_;
  KioskOptions options_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  KioskSnapshot state_;
  std::string qr_svg_;  // the current code, drawn once
  std::chrono::steady_clock::time_point qr_expires_{};
  std::chrono::steady_clock::time_point clears_at_{};
  std::optional<Request> pending_;  // asked for, not yet taken by the worker
  Request current_;
  int rotations_ = 0;
  bool stopping_ = false;
  std::deque<nlohmann::json> history_;
  std::mutex observer_mu_;
  std::function<void()> observer_;
  std::thread worker_;
};

}  // namespace hybrid::demo
