// `hybrid browser`: Debian's Chromium wired to this machine's hybrid stack, for a person or
// a test (Selenium, Playwright, CDP) to drive real passkey ceremonies over hybrid:
//   a private dbus-daemon playing the system bus with the virtual air (or the real BlueZ),
//   Xvfb when there is no display, a throwaway CA and tunnel certificate trusted through a
//   temporary NSS DB, our TLS tunnel server at the names the browser derives from an
//   advert, resolver rules that keep everything else on the machine, a fresh profile, and
//   the screen-reading software phone.
// Everything lives in one temporary directory (removed on exit) and every process it starts
// is stopped when the session goes.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "browser/screen_phone.h"

namespace hybrid::browser {

struct BrowserOptions {
  std::string chromium = "chromium";  // program names (looked up on $PATH) or paths
  std::string xvfb = "Xvfb";
  std::string certutil = "certutil";
  bool real_bluetooth = false;  // the machine's BlueZ and tunnel servers: no air, no phone, no resolver rules
  bool force_xvfb = false;      // even when $DISPLAY is set
  bool phone = true;            // the screen-reading phone
  std::string store;            // its passkey store (default: a throwaway one)
  std::string kind = "synced";
  Approval approve = Approval::always;
  uint16_t domain_id = 0;       // tunnel domain in the phone's advert (0 cable.ua5v.com, 1 cable.auth.com, 256+ hashed)
  uint16_t devtools_port = 0;   // 0: any free port
  uint16_t tunnel_port = 0;
  std::string url = "about:blank";
  std::string log_dir;          // keep Chromium's FIDO/Bluetooth log (and the others) here
  std::chrono::milliseconds start_timeout{45000};
  std::chrono::milliseconds transaction_timeout{60000};
  std::function<void(const nlohmann::json&)> on_event;  // any thread
};

// Why the session could not start, for the command's exit code.
enum class StartFailure { missing_program, port_in_use, timeout, other };

class BrowserSession {
 public:
  struct Error {
    StartFailure kind = StartFailure::other;
    std::string message;
  };
  // Starts everything; on failure, whatever had started is already stopped.
  static std::unique_ptr<BrowserSession> start(const BrowserOptions& options, Error& error);
  ~BrowserSession();  // stops everything in reverse order, removes the temporary directory

  // {"ready":true,"devtools":"http://127.0.0.1:P","websocket":"ws://…","display":":N",…}
  nlohmann::json ready_json() const;
  // Blocks until `stop` (returns empty) or until Chromium or Xvfb dies (returns why).
  std::string wait(const std::atomic<bool>& stop);

  struct Impl;

 private:
  explicit BrowserSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybrid::browser
