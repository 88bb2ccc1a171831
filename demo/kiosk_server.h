// The kiosk's web front end: a libwebsockets HTTP server for the page (embedded assets),
// GET /api/state (the state as JSON), GET /healthz, and a WebSocket at /status (protocol
// "hybrid-kiosk") that pushes the state on every change and takes the visitor's choices:
// {"action":"sign_in"} · {"action":"register","user":"alice"} · {"action":"cancel"}.
// A thin adapter: everything it shows comes from Kiosk::state_json().
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "demo/kiosk.h"
#include "demo/website_rp.h"

namespace hybrid::demo {

struct KioskServerConfig {
  std::string host = "127.0.0.1";  // "0.0.0.0" to let phones and other screens in
  uint16_t port = 0;               // 0 picks a free port
  WebsiteRelyingParty* website = nullptr;  // also serve the website page (/site), demo/website_http.h
  // Host names (besides IP literals and localhost) that browsers may use to reach the
  // kiosk; any other Host header is refused with 403 (DNS rebinding).
  std::vector<std::string> allowed_hosts;
  // A /status WebSocket that has sent nothing valid (no pong, no message) for this long is
  // pinged; if still nothing after `status_hangup_after`, it is closed. Pages answer pings
  // by themselves (browsers do); half-open or silent sockets are dropped.
  std::chrono::seconds status_ping_after{20};
  std::chrono::seconds status_hangup_after{40};
};

// Whether a Host header ("name", "name:port", "[v6]:port") names this kiosk: an IP literal,
// localhost or one of `allowed` (case-insensitive).
bool kiosk_host_allowed(std::string_view host_header, const std::vector<std::string>& allowed);

// "HOST:PORT" or "[v6]:PORT", port 0…65535 (0 picks a free port).
Result<KioskServerConfig> parse_listen(std::string_view listen);

class KioskServer {
 public:
  // Binds the socket (port() is known at once). `kiosk` must outlive the server.
  static Result<std::unique_ptr<KioskServer>> create(Kiosk& kiosk, const KioskServerConfig& config);
  ~KioskServer();  // stops, joins and closes every connection
  KioskServer(const KioskServer&) = delete;
  KioskServer& operator=(const KioskServer&) = delete;

  uint16_t port() const;
  std::string url() const;  // http://127.0.0.1:PORT/

  void run();    // serves on the calling thread until stop()
  void start();  // serves on a background thread
  void stop();   // thread-safe and async-signal-safe
  void join();

  struct Impl;

 private:
  explicit KioskServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace hybrid::demo
