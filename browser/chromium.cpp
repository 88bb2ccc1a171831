#include "browser/chromium.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace hybrid::browser {

std::string resolver_rules(const std::vector<std::pair<std::string, std::string>>& maps, bool isolate) {
  std::string r;
  for (const auto& [host, to] : maps) r += (r.empty() ? "" : ", ") + std::string("MAP ") + host + " " + to;
  if (isolate) r += (r.empty() ? "" : ", ") + std::string("MAP * ~NOTFOUND, EXCLUDE localhost");
  return r;
}

std::vector<std::string> chromium_arguments(const ChromiumOptions& o) {
  std::vector<std::string> a = {o.program};
  if (geteuid() == 0) a.push_back("--no-sandbox");  // Chromium refuses to run as root otherwise
  a.insert(a.end(), {"--ozone-platform=x11", "--no-first-run", "--no-default-browser-check", "--password-store=basic",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-gpu", "--disable-dev-shm-usage", "--disable-features=Translate,MediaRouter",
                     "--window-position=0,0",
                     "--window-size=" + std::to_string(o.width) + "," + std::to_string(o.height),
                     "--user-data-dir=" + o.user_data_dir, "--remote-debugging-address=127.0.0.1",
                     "--remote-debugging-port=" + std::to_string(o.devtools_port), "--enable-logging=stderr", "--v=0"});
  if (o.fido_logs) a.push_back("--vmodule=*device_event_log*=1,*fido*=3,*cable*=3");
  std::string rules = resolver_rules(o.resolver_maps, o.isolate);
  if (!rules.empty()) a.push_back("--host-resolver-rules=" + rules);
  a.push_back(o.start_url);
  return a;
}

std::vector<std::string> chromium_environment(const ChromiumOptions& o) {
  std::vector<std::string> e = {"HOME=" + o.home,
                                "TMPDIR=" + o.tmp_dir,
                                "DISPLAY=" + o.display,
                                "XDG_CONFIG_HOME=" + o.home + "/.config",
                                "XDG_CACHE_HOME=" + o.home + "/.cache",
                                "XDG_DATA_HOME=" + o.home + "/.local/share",
                                "WAYLAND_DISPLAY",
                                "XDG_RUNTIME_DIR"};
  if (!o.system_bus.empty()) {
    e.push_back("DBUS_SYSTEM_BUS_ADDRESS=" + o.system_bus);
    // No session bus of the user's either, and no dbus-launch autostart.
    e.push_back("DBUS_SESSION_BUS_ADDRESS=disabled:");
  }
  return e;
}

Result<std::unique_ptr<Chromium>> Chromium::start(const ChromiumOptions& o, std::chrono::milliseconds timeout) {
  HYBRID_TRY(auto p, demo::ChildProcess::spawn(chromium_arguments(o), o.log_path, chromium_environment(o)));
  const std::string port_file = o.user_data_dir + "/DevToolsActivePort";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::ifstream f(port_file);
    std::string port_line, path_line;
    if (f && std::getline(f, port_line) && std::getline(f, path_line) && !port_line.empty() &&
        port_line.find_first_not_of("0123456789") == std::string::npos && port_line.size() <= 5) {
      const long port = std::stol(port_line);
      if (port > 0 && port < 65536) {
        std::string ws = "ws://127.0.0.1:" + port_line + path_line;
        return std::unique_ptr<Chromium>(new Chromium(std::move(p), static_cast<uint16_t>(port), ws));
      }
    }
    if (auto st = p.poll()) {
      p.terminate_group(std::chrono::milliseconds(0));
      std::string tail;
      std::ifstream log(o.log_path);
      std::string line;
      while (std::getline(log, line)) tail = line;  // the last line usually says why
      return make_error("Chromium exited (" + std::to_string(*st) + ") before its DevTools endpoint was ready" +
                        (tail.empty() ? "" : ": " + tail.substr(0, 300)) +
                        (o.devtools_port ? " (is port " + std::to_string(o.devtools_port) + " in use?)" : ""));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      p.terminate_group(std::chrono::milliseconds(2000));
      return make_error("Chromium's DevTools endpoint was not ready within " + std::to_string(timeout.count() / 1000) +
                        " s; see " + o.log_path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Chromium::~Chromium() { process_.terminate_group(std::chrono::milliseconds(3000)); }

}  // namespace hybrid::browser
