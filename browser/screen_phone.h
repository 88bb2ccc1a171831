// A software phone that looks at the browser's screen like a camera: it grabs the X root
// window a few times a second, decodes QR codes with libzbar, and answers every new FIDO:/
// code with roles::PhoneRunner over the (virtual) BLE air and the tunnel, from its passkey
// store, approving per policy. After a sign-in it presses Return while Chromium waits on
// its account picker. Every step is reported as a JSON event.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace hybrid::browser {

enum class Approval { always, never, ask };
Result<Approval> approval_from_name(std::string_view name);  // "always", "never", "ask"

struct ScreenPhoneOptions {
  std::string display;
  std::string store_path;
  std::string kind = "synced";       // passkeys it creates: synced | device-bound
  Approval approve = Approval::always;
  std::string dbus_address;          // BlueZ or the virtual air
  std::string tunnel_base;           // where the phone opens its tunnel (wss://127.0.0.1:PORT)
  std::string ca_file;               // trusts the local CA
  uint16_t domain_id = 0;            // the tunnel domain put in the advert
  std::chrono::milliseconds scan_interval{400};
  std::chrono::milliseconds transaction_timeout{60000};
  std::function<void(const nlohmann::json&)> on_event;  // from the phone's thread
};

class ScreenPhone {
 public:
  // Opens the store and the screen; start() begins looking.
  static Result<std::unique_ptr<ScreenPhone>> create(ScreenPhoneOptions options);
  ~ScreenPhone();  // stop()

  void start();
  void stop();  // cancels a transaction in flight, joins
  int transactions() const { return transactions_; }

 private:
  struct Impl;
  explicit ScreenPhone(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<int> transactions_{0};
};

}  // namespace hybrid::browser
