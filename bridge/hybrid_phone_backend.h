// The bridge's real phone: each CTAP request becomes one hybrid transaction
// (roles::ClientTransaction) with the user's phone — a QR code to scan, or a linked phone
// woken through the tunnel server, falling back to a QR code like `hybrid sign-in` does.
// Runs on its own worker thread; shows the QR code on the terminal, in a PNG file and as a
// desktop notification; keeps the linking data a phone offers.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ble/radio.h"
#include "bridge/phone_backend.h"
#include "roles/client_transaction.h"

namespace hybrid::bridge {

struct HybridPhoneBackendOptions {
  // Tunnel server and TLS (roles::ClientTransactionOptions).
  std::string tunnel_override;  // empty: the server the phone names, over wss://
  std::string ca_file;          // empty: the system CAs
  // The whole transaction (the bridge enforces the same limit) and the BLE scan.
  std::chrono::milliseconds timeout{120000};
  std::chrono::milliseconds advert_timeout{60000};
  // Bluetooth: a fresh radio per transaction (a cancelled scan must not leak into the next).
  // Empty: ble::BluezRadio on `dbus_address` (empty: $HYBRID_DBUS_ADDRESS or the system bus).
  std::function<std::unique_ptr<ble::Radio>()> make_radio;
  std::string dbus_address;
  std::string adapter;
  bool power_on = false;
  // Linked phones: the store (empty: roles::LinkStore::default_path()), the phone to reach
  // without a QR code (empty: always a QR code), and whether the QR code offers linking.
  std::string link_store_path;
  std::string phone;
  bool offer_linking = true;
  // Showing the QR code: drawn on stderr (with its text), written to a PNG file (removed
  // when the transaction ends), and announced with `notify_program` when it is on PATH
  // (or is a path to an executable). Empty strings / false turn a channel off.
  bool qr_on_terminal = true;
  std::string qr_png_path;
  std::string notify_program = "notify-send";
  // Each new key-log line (HYBRID_KEYLOG); may be empty.
  std::function<void(const std::string&)> on_keylog;
};

// The bridge's PhoneError for a failed transaction: timeout and no_advert (nobody scanned
// in time) → timeout; cancelled and phone_closed (the phone gave up) → cancelled; no
// Bluetooth, no network, TLS, refused or gone tunnel → unavailable; the rest → other.
PhoneError phone_error_for(roles::ClientFailure failure);

// "true" when this process' stderr is the systemd journal ($JOURNAL_STREAM names it): a
// QR code (which holds the transaction's secret) must not be written into a log.
bool stderr_is_journal();

class HybridPhoneBackend : public PhoneBackend {
 public:
  // Checks the options (the named linked phone exists, the link store is readable).
  static Result<std::unique_ptr<HybridPhoneBackend>> create(HybridPhoneBackendOptions options);
  ~HybridPhoneBackend() override;  // cancels what runs and waits for the worker
  HybridPhoneBackend(const HybridPhoneBackend&) = delete;
  HybridPhoneBackend& operator=(const HybridPhoneBackend&) = delete;

  // Returns at once; `done` runs exactly once, on the worker thread. A transaction started
  // right after a cancel() waits for the cancelled one to wind down first.
  void start(Bytes ctap_request, PhoneDone done) override;
  // Requests a stop of the transaction in progress (scan stopped, tunnel closed, no QR
  // code after a linked phone); its `done` then gets PhoneError::cancelled.
  void cancel() override;

 private:
  struct Job;
  explicit HybridPhoneBackend(HybridPhoneBackendOptions options);
  PhoneResponse run(Job& job, const Bytes& ctap_request);
  Result<roles::ClientTransactionResult> run_attempt(Job& job, const Bytes& ctap_request,
                                                     const std::optional<roles::LinkRecord>& linked,
                                                     std::chrono::steady_clock::time_point deadline);
  void show_qr(const std::string& qr_url, bool make_credential);
  void hide_qr();

  HybridPhoneBackendOptions options_;
  std::mutex mutex_;
  std::shared_ptr<Job> current_;
  std::thread worker_;  // the newest worker; each worker joins the one before it
};

}  // namespace hybrid::bridge
