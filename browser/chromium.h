// Debian's Chromium started as a hybrid client wired to this machine's stack (facts in
// ../shared/spec/chromium-hybrid-notes.md): its "system bus" is ours (the virtual air), its
// X display ours (Xvfb), its $HOME a throwaway one whose NSS DB trusts our local CA, its
// resolver sends the tunnel names to our tunnel server and nothing else off the machine,
// a fresh profile, and a DevTools endpoint on 127.0.0.1 for tests to drive it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "demo/child_process.h"

namespace hybrid::browser {

struct ChromiumOptions {
  std::string program = "chromium";
  std::string user_data_dir;  // a fresh profile
  std::string home;           // $HOME: .pki/nssdb lives there
  std::string tmp_dir;        // $TMPDIR, so that nothing lands in /tmp
  std::string display;        // $DISPLAY
  std::string system_bus;     // DBUS_SYSTEM_BUS_ADDRESS; empty: the machine's real system bus
  // host → "127.0.0.1:PORT" (the tunnel names). With `isolate`, every other name except
  // localhost fails to resolve, so nothing leaves the machine.
  std::vector<std::pair<std::string, std::string>> resolver_maps;
  bool isolate = true;
  uint16_t devtools_port = 0;  // 0: Chromium picks one (read from DevToolsActivePort)
  std::string start_url = "about:blank";
  std::string log_path;         // Chromium's stderr (its event log)
  bool fido_logs = false;       // --vmodule for the FIDO/Bluetooth event log (holds CTAP payloads)
  int width = 1280, height = 900;
};

// "MAP host 127.0.0.1:P, …, MAP * ~NOTFOUND, EXCLUDE localhost".
std::string resolver_rules(const std::vector<std::pair<std::string, std::string>>& maps, bool isolate);
// The command line (argv[0] is the program) and the environment changes for ChildProcess.
std::vector<std::string> chromium_arguments(const ChromiumOptions& options);
std::vector<std::string> chromium_environment(const ChromiumOptions& options);

class Chromium {
 public:
  // Starts it and waits until its DevTools endpoint answers (DevToolsActivePort).
  static Result<std::unique_ptr<Chromium>> start(const ChromiumOptions& options, std::chrono::milliseconds timeout);
  ~Chromium();  // stops its whole process group

  uint16_t devtools_port() const { return port_; }
  // "ws://127.0.0.1:PORT/devtools/browser/<id>"
  const std::string& browser_websocket() const { return browser_ws_; }
  std::optional<int> poll() { return process_.poll(); }
  pid_t pid() const { return process_.pid(); }
  void stop() { process_.terminate_group(std::chrono::milliseconds(3000)); }

 private:
  Chromium(demo::ChildProcess p, uint16_t port, std::string ws)
      : process_(std::move(p)), port_(port), browser_ws_(std::move(ws)) {}
  demo::ChildProcess process_;
  uint16_t port_ = 0;
  std::string browser_ws_;
};

}  // namespace hybrid::browser
