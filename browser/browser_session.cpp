#include "browser/browser_session.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/log.h"
#include "ble/private_air.h"
#include "browser/chromium.h"
#include "browser/local_ca.h"
#include "browser/nss_db.h"
#include "browser/programs.h"
#include "browser/xvfb.h"
#include "hybrid/domains.h"
#include "tunnel/server.h"

namespace hybrid::browser {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  return static_cast<bool>(f);
}

}  // namespace

struct BrowserSession::Impl {
  BrowserOptions options;
  std::string dir;       // the session's temporary directory (removed)
  std::string log_dir;   // where the logs go (the session dir unless --log-dir)
  std::unique_ptr<ble::PrivateAir> air;  // the virtual air on its private system bus
  std::unique_ptr<tunnel::TunnelServer> tunnel;
  std::unique_ptr<Xvfb> xvfb;
  std::string display;
  std::unique_ptr<Chromium> chromium;
  std::unique_ptr<ScreenPhone> phone;
  std::string store;

  ~Impl() {
    if (phone) phone->stop();
    phone.reset();
    chromium.reset();  // its whole process group
    xvfb.reset();
    if (tunnel) {
      tunnel->stop();
      tunnel->join();
    }
    tunnel.reset();
    air.reset();
    if (!dir.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }

  void emit(const json& j) {
    if (options.on_event) options.on_event(j);
  }
};

BrowserSession::BrowserSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BrowserSession::~BrowserSession() = default;

std::unique_ptr<BrowserSession> BrowserSession::start(const BrowserOptions& o, Error& error) {
  auto fail = [&](StartFailure kind, std::string message) -> std::unique_ptr<BrowserSession> {
    error = Error{kind, std::move(message)};
    return nullptr;
  };
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.options = o;

  // Programs first: a missing one is the most likely problem and needs no cleanup.
  auto chromium_path = find_program(o.chromium, "Chromium", "chromium");
  if (!chromium_path.ok()) return fail(StartFailure::missing_program, chromium_path.error().message);
  const char* env_display = std::getenv("DISPLAY");
  const bool need_xvfb = o.force_xvfb || !env_display || !*env_display;
  std::string xvfb_path, certutil_path;
  if (need_xvfb) {
    auto p = find_program(o.xvfb, "Xvfb (a virtual screen for Chromium's QR dialog)", "xvfb");
    if (!p.ok()) return fail(StartFailure::missing_program, p.error().message);
    xvfb_path = *p;
  }
  if (!o.real_bluetooth) {
    auto p = find_program(o.certutil, "certutil (to make Chromium trust the local tunnel's CA)", "libnss3-tools");
    if (!p.ok()) return fail(StartFailure::missing_program, p.error().message);
    certutil_path = *p;
  }
  if (o.devtools_port && !port_is_free(o.devtools_port)) {
    return fail(StartFailure::port_in_use, "the DevTools port 127.0.0.1:" + std::to_string(o.devtools_port) +
                                               " is in use: pick another with --devtools-port (0 picks a free one)");
  }
  if (o.tunnel_port && !port_is_free(o.tunnel_port)) {
    return fail(StartFailure::port_in_use, "the tunnel port 127.0.0.1:" + std::to_string(o.tunnel_port) +
                                               " is in use: pick another with --tunnel-port (0 picks a free one)");
  }
  auto domain = tunnel_domain(o.domain_id);
  if (!domain) return fail(StartFailure::other, "--domain-id " + std::to_string(o.domain_id) + " is reserved (use 0, 1 or 256…65535)");

  // The session's directory: HOME (NSS DB), profile, TMPDIR, certificates, logs.
  const char* tmp_root = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp_root && *tmp_root ? tmp_root : "/tmp") + "/hybrid-browser-XXXXXX";
  if (!mkdtemp(tmpl.data())) return fail(StartFailure::other, "cannot create a temporary directory under " + tmpl);
  s.dir = tmpl;
  for (const char* sub : {"home", "profile", "tmp"}) fs::create_directories(s.dir + "/" + sub);
  s.log_dir = s.dir;
  if (!o.log_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.log_dir, ec);
    if (ec) return fail(StartFailure::other, "cannot create --log-dir " + o.log_dir + ": " + ec.message());
    s.log_dir = fs::absolute(o.log_dir).string();
  }
  s.store = o.store.empty() ? s.dir + "/phone-passkeys.json" : o.store;

  std::string ca_path;
  if (!o.real_bluetooth) {
    // The air: a private dbus-daemon playing the system bus.
    auto air = ble::PrivateAir::start();
    if (!air.ok()) {
      return fail(air.error().is(ble::PrivateAirError::no_dbus_daemon) ? StartFailure::missing_program
                                                                      : StartFailure::other,
                  air.error().message);
    }
    s.air = std::move(*air);

    // The tunnel server, with a certificate for every name the browser may derive.
    std::vector<std::string> names;
    for (uint16_t id : {uint16_t{0}, uint16_t{1}, o.domain_id}) {
      auto n = tunnel_domain(id);
      if (n && std::find(names.begin(), names.end(), *n) == names.end()) names.push_back(*n);
    }
    auto ca = make_local_ca(names, {"127.0.0.1"});
    if (!ca.ok()) return fail(StartFailure::other, ca.error().message);
    ca_path = s.dir + "/local-ca.pem";
    const std::string cert_path = s.dir + "/tunnel-cert.pem", key_path = s.dir + "/tunnel-key.pem";
    if (!write_file(ca_path, ca->root_pem) || !write_file(cert_path, ca->leaf_pem) ||
        !write_file(key_path, ca->leaf_key_pem)) {
      return fail(StartFailure::other, "cannot write the local CA's files in " + s.dir);
    }
    tunnel::ServerConfig tc;
    tc.host = "127.0.0.1";
    tc.port = o.tunnel_port;
    tc.tls_cert_file = cert_path;
    tc.tls_key_file = key_path;
    auto tunnel = tunnel::TunnelServer::create(tc);
    if (!tunnel.ok()) {
      return fail(o.tunnel_port ? StartFailure::port_in_use : StartFailure::other,
                  "could not start the tunnel server: " + tunnel.error().message);
    }
    s.tunnel = std::move(*tunnel);
    s.tunnel->start();
    auto trusted = trust_ca_in_nss_db(certutil_path, s.dir + "/home", ca_path, s.log_dir + "/certutil.log",
                                      std::chrono::seconds(20));
    if (!trusted.ok()) return fail(StartFailure::other, "could not make Chromium trust the local CA: " + trusted.error().message);
    s.emit({{"event", "tunnel_ready"}, {"url", "wss://127.0.0.1:" + std::to_string(s.tunnel->port())}, {"names", names}});
  }

  // The screen.
  if (need_xvfb) {
    auto x = Xvfb::start(xvfb_path, s.log_dir + "/xvfb.log", std::min<milliseconds>(o.start_timeout, milliseconds(15000)));
    if (!x.ok()) return fail(StartFailure::timeout, x.error().message);
    s.xvfb = std::move(*x);
    s.display = s.xvfb->display();
  } else {
    s.display = env_display;
  }

  // The phone looks before the browser starts, so that no code can be missed.
  if (o.phone && !o.real_bluetooth) {
    ScreenPhoneOptions po;
    po.display = s.display;
    po.store_path = s.store;
    po.kind = o.kind;
    po.approve = o.approve;
    po.dbus_address = s.air->address();
    po.tunnel_base = "wss://127.0.0.1:" + std::to_string(s.tunnel->port());
    po.ca_file = ca_path;
    po.domain_id = o.domain_id;
    po.transaction_timeout = o.transaction_timeout;
    po.on_event = o.on_event;
    auto phone = ScreenPhone::create(po);
    if (!phone.ok()) return fail(StartFailure::other, "could not start the screen-reading phone: " + phone.error().message);
    s.phone = std::move(*phone);
  }

  ChromiumOptions co;
  co.program = *chromium_path;
  co.user_data_dir = s.dir + "/profile";
  co.tmp_dir = s.dir + "/tmp";
  co.display = s.display;
  co.devtools_port = o.devtools_port;
  co.start_url = o.url;
  co.log_path = s.log_dir + "/chromium.log";
  co.fido_logs = !o.log_dir.empty();
  if (o.real_bluetooth) {
    co.home = s.dir + "/home";
    co.isolate = false;
  } else {
    co.home = s.dir + "/home";
    co.system_bus = s.air->address();
    const std::string to = "127.0.0.1:" + std::to_string(s.tunnel->port());
    for (uint16_t id : {uint16_t{0}, uint16_t{1}, o.domain_id}) {
      auto n = tunnel_domain(id);
      if (!n) continue;
      bool seen = false;
      for (const auto& m : co.resolver_maps) seen = seen || m.first == *n;
      if (!seen) co.resolver_maps.emplace_back(*n, to);
    }
  }
  auto chromium = Chromium::start(co, o.start_timeout);
  if (!chromium.ok()) {
    const bool timeout = chromium.error().message.find("within") != std::string::npos;
    return fail(timeout ? StartFailure::timeout : (o.devtools_port ? StartFailure::port_in_use : StartFailure::other),
                chromium.error().message);
  }
  s.chromium = std::move(*chromium);
  if (s.phone) s.phone->start();
  return std::unique_ptr<BrowserSession>(new BrowserSession(std::move(impl)));
}

json BrowserSession::ready_json() const {
  const Impl& s = *impl_;
  json j{{"ready", true},
         {"devtools", "http://127.0.0.1:" + std::to_string(s.chromium->devtools_port())},
         {"websocket", s.chromium->browser_websocket()},
         {"display", s.display},
         {"chromium_pid", s.chromium->pid()},
         {"phone", static_cast<bool>(s.phone)}};
  if (s.air) j["dbus_address"] = s.air->address();
  if (s.tunnel) j["tunnel"] = "wss://127.0.0.1:" + std::to_string(s.tunnel->port());
  if (s.phone) j["store"] = s.store;
  if (!s.options.log_dir.empty()) j["log_dir"] = s.log_dir;
  return j;
}

std::string BrowserSession::wait(const std::atomic<bool>& stop) {
  Impl& s = *impl_;
  while (!stop) {
    if (auto st = s.chromium->poll()) {
      return "Chromium exited (" + std::to_string(*st) + "); its log: " +
             (s.options.log_dir.empty() ? std::string("use --log-dir to keep it") : s.log_dir + "/chromium.log");
    }
    if (s.xvfb) {
      if (auto st = s.xvfb->poll()) return "Xvfb exited (" + std::to_string(*st) + ")";
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return "";
}

}  // namespace hybrid::browser
