// doctor/checks.h and report.h over hand-made facts: every failing configuration gives a
// fail (or warn) with a fix, dependent checks are skipped, and the worst status and the
// JSON shape are right.
#include <catch2/catch.hpp>

#include <map>

#include "doctor/checks.h"
#include "doctor/report.h"

using namespace hybrid;
using namespace hybrid::doctor;

namespace {

ble::BluezProbe healthy() {
  ble::BluezProbe p;
  p.bus_text = "the system D-Bus";
  p.system_bus = true;
  p.bluez_running = true;
  p.adapters = {{"hci0", true, "on", true, false}};
  p.chosen = 0;
  p.discovery_filter.tried = p.start_discovery.tried = p.register_advertisement.tried = true;
  p.register_advertisement.error = ble::ProbeError{"org.bluez.Error.Failed", "Failed to parse advertisement."};
  return p;
}

std::map<std::string, CheckResult> by_name(const std::vector<CheckResult>& v) {
  std::map<std::string, CheckResult> m;
  for (const auto& r : v) m[r.name] = r;
  return m;
}

}  // namespace

TEST_CASE("doctor: a healthy Bluetooth stack is all ok") {
  auto r = check_bluetooth(healthy(), RfkillFacts{true, true, {{"rfkill0", "bluetooth", false, false}}});
  REQUIRE(r.size() == 7);
  for (const auto& c : r) {
    INFO(c.name << ": " << c.detail);
    CHECK(c.status == CheckStatus::ok);
    CHECK(c.fix.empty());
  }
  CHECK(worst(r) == CheckStatus::ok);
}

TEST_CASE("doctor: no D-Bus fails dbus and skips the rest") {
  ble::BluezProbe p;
  p.bus_text = "the system D-Bus";
  p.system_bus = true;
  p.bus_error = "cannot connect to the system D-Bus: No such file or directory";
  auto m = by_name(check_bluetooth(p, {}));
  CHECK(m["dbus"].status == CheckStatus::fail);
  CHECK(m["dbus"].fix.find("systemctl start dbus") != std::string::npos);
  for (const char* n : {"bluez", "adapter", "powered", "discovery-policy", "advertising-policy"}) {
    INFO(n);
    CHECK(m[n].status == CheckStatus::skipped);
  }
}

TEST_CASE("doctor: BlueZ absent, no adapter, wrong adapter") {
  auto p = healthy();
  p.bluez_running = false;
  p.adapters.clear();
  p.chosen.reset();
  auto m = by_name(check_bluetooth(p, {}));
  CHECK(m["bluez"].status == CheckStatus::fail);
  CHECK(m["bluez"].fix.find("systemctl enable --now bluetooth") != std::string::npos);
  CHECK(m["adapter"].status == CheckStatus::skipped);

  p = healthy();
  p.adapters.clear();
  p.chosen.reset();
  m = by_name(check_bluetooth(p, {}));
  CHECK(m["adapter"].status == CheckStatus::fail);
  CHECK(m["adapter"].fix.find("bluetoothctl list") != std::string::npos);
  CHECK(m["powered"].status == CheckStatus::skipped);

  p = healthy();
  p.wanted_adapter = "hci7";
  p.chosen.reset();
  m = by_name(check_bluetooth(p, {}));
  CHECK(m["adapter"].status == CheckStatus::fail);
  CHECK(m["adapter"].detail.find("hci0") != std::string::npos);
}

TEST_CASE("doctor: powered off, and blocked by rfkill (BlueZ's PowerState or sysfs)") {
  auto p = healthy();
  p.adapters[0].powered = false;
  p.adapters[0].power_state = "off";
  auto m = by_name(check_bluetooth(p, {}));
  CHECK(m["powered"].status == CheckStatus::fail);
  CHECK(m["powered"].fix.find("bluetoothctl power on") != std::string::npos);
  CHECK(m["rfkill"].status == CheckStatus::ok);
  // --power-on makes an adapter that is merely off acceptable before a QR code.
  CHECK(check_bluetooth_fast(p, {}, true)[3].status == CheckStatus::ok);

  p.adapters[0].power_state = "off-blocked";
  m = by_name(check_bluetooth(p, {}));
  CHECK(m["powered"].status == CheckStatus::fail);
  CHECK(m["powered"].fix.find("rfkill unblock bluetooth") != std::string::npos);
  CHECK(m["rfkill"].status == CheckStatus::fail);
  CHECK(check_bluetooth_fast(p, {}, true)[3].status == CheckStatus::fail);  // --power-on cannot unblock

  p = healthy();
  p.adapters[0].powered = false;
  p.adapters[0].power_state.reset();
  RfkillFacts hard{true, true, {{"rfkill3", "bluetooth", false, true}}};
  m = by_name(check_bluetooth(p, hard));
  CHECK(m["rfkill"].status == CheckStatus::fail);
  CHECK(m["rfkill"].detail.find("hard-blocked") != std::string::npos);
  CHECK(m["powered"].fix.find("rfkill unblock") != std::string::npos);
  // The same sysfs facts do not apply to another bus (the virtual air).
  p.system_bus = false;
  CHECK(by_name(check_bluetooth(p, hard))["rfkill"].status == CheckStatus::ok);
}

TEST_CASE("doctor: AccessDenied on discovery or advertising is a policy failure; other answers are not") {
  auto p = healthy();
  p.start_discovery.error = ble::ProbeError{"org.freedesktop.DBus.Error.AccessDenied", "Rejected send message"};
  auto m = by_name(check_bluetooth(p, {}));
  CHECK(m["discovery-policy"].status == CheckStatus::fail);
  CHECK(m["discovery-policy"].fix.find("bluetooth` group") != std::string::npos);
  CHECK(m["advertising-policy"].status == CheckStatus::ok);

  p = healthy();
  p.register_advertisement.error = ble::ProbeError{"org.bluez.Error.NotAuthorized", ""};
  m = by_name(check_bluetooth(p, {}));
  CHECK(m["advertising-policy"].status == CheckStatus::fail);
  CHECK(m["discovery-policy"].status == CheckStatus::ok);

  p = healthy();
  p.adapters[0].powered = false;
  p.start_discovery.error = ble::ProbeError{"org.bluez.Error.NotReady", "Resource Not Ready"};
  CHECK(by_name(check_bluetooth(p, {}))["discovery-policy"].status == CheckStatus::ok);
  p.start_discovery.error = ble::ProbeError{"org.bluez.Error.InProgress", ""};
  CHECK(by_name(check_bluetooth(p, {}))["discovery-policy"].status == CheckStatus::warn);
  p.register_advertisement.error = ble::ProbeError{"org.bluez.Error.NotPermitted", "Maximum advertisements reached"};
  CHECK(by_name(check_bluetooth(p, {}))["advertising-policy"].status == CheckStatus::warn);
}

TEST_CASE("doctor: uhid") {
  CHECK(check_uhid({"/dev/uhid", true, true, true}).status == CheckStatus::ok);
  auto missing = check_uhid({"/dev/uhid", false, false, false});
  CHECK(missing.status == CheckStatus::warn);
  CHECK(missing.fix.find("modprobe uhid") != std::string::npos);
  auto denied = check_uhid({"/dev/uhid", true, false, true});
  CHECK(denied.status == CheckStatus::warn);
  CHECK(denied.fix.find("70-hybrid-bridge-uhid.rules") != std::string::npos);
}

TEST_CASE("doctor: tunnel and clock") {
  TunnelFacts t;
  t.url = "wss://tunnel.example:8443";
  t.probe.tls = true;
  t.probe.tls_version = "TLSv1.3";
  t.probe.status = 200;
  t.probe.address = "tunnel.example:8443";
  t.probe.date = 1'800'000'000;
  t.local_time = 1'800'000'003;
  CHECK(check_tunnel(t).status == CheckStatus::ok);
  CHECK(check_clock(t).status == CheckStatus::ok);
  t.local_time = 1'800'000'000 - 600;
  auto c = check_clock(t);
  CHECK(c.status == CheckStatus::warn);
  CHECK(c.detail.find("600 s behind") != std::string::npos);
  CHECK(c.fix.find("timedatectl") != std::string::npos);
  t.local_time = 1'800'000'000 + 3 * 86400;
  CHECK(check_clock(t).status == CheckStatus::fail);

  t.probe.failure = tunnel::ProbeFailure::tls;
  t.probe.error = "the certificate of tunnel.example:8443 does not verify: unable to get local issuer certificate";
  auto r = check_tunnel(t);
  CHECK(r.status == CheckStatus::fail);
  CHECK(r.detail.find("system CA store") != std::string::npos);
  CHECK(r.fix.find("--ca-file") != std::string::npos);
  CHECK(check_clock(t).status == CheckStatus::skipped);
  t.ca_file = "/etc/ssl/private-ca.pem";
  CHECK(check_tunnel(t).detail.find("/etc/ssl/private-ca.pem") != std::string::npos);

  t.probe.failure = tunnel::ProbeFailure::connect;
  CHECK(check_tunnel(t).status == CheckStatus::fail);
}

TEST_CASE("doctor: store paths") {
  PathFacts f;
  f.role = "linked phones";
  f.path = "/home/u/.local/share/hybrid/linked-phones.json";
  f.exists = true;
  f.mode = 0600;
  f.owner = f.me = 1000;
  f.writable = true;
  CHECK(check_store(f).status == CheckStatus::ok);
  f.mode = 0644;
  auto r = check_store(f);
  CHECK(r.status == CheckStatus::warn);
  CHECK(r.fix == "`chmod 600 " + f.path + "`");
  f.writable = false;
  CHECK(check_store(f).status == CheckStatus::fail);
  f = PathFacts{};
  f.role = "data directory";
  f.is_directory_role = true;
  f.path = "/nonexistent/hybrid";
  f.nearest_existing = "/";
  f.writable = false;
  CHECK(check_store(f).status == CheckStatus::fail);
  f.writable = true;
  CHECK(check_store(f).status == CheckStatus::ok);
}

namespace {
struct FakeEnv : Environment {
  ble::BluezProbe probe = healthy();
  int bluetooth_calls = 0;
  bool last_try_methods = true;
  ble::BluezProbe bluetooth(bool try_methods) override {
    ++bluetooth_calls;
    last_try_methods = try_methods;
    return probe;
  }
  RfkillFacts rfkill() override { return {}; }
  UhidFacts uhid() override { return {"/dev/uhid", false, false, false}; }
  TunnelFacts tunnel() override {
    TunnelFacts t;
    t.probe.failure = tunnel::ProbeFailure::connect;
    t.probe.error = "cannot connect to 127.0.0.1:9: Connection refused";
    return t;
  }
  std::vector<PathFacts> stores() override { return {}; }
};
}  // namespace

TEST_CASE("doctor: report, JSON and the preflight over an injected environment") {
  FakeEnv env;
  auto results = run_checks(env);
  CHECK(worst(results) == CheckStatus::fail);  // the tunnel
  auto j = to_json(results);
  CHECK(j["status"] == "fail");
  REQUIRE(j["checks"].size() == results.size());
  CHECK(j["checks"][0]["name"] == "dbus");
  CHECK(to_text(results).find("fix: ") != std::string::npos);

  Selection bt_only{true, false, false, false};
  CHECK(worst(run_checks(env, bt_only)) == CheckStatus::ok);
  CHECK_FALSE(bluetooth_preflight(env, false).has_value());
  CHECK_FALSE(env.last_try_methods);  // the preflight neither scans nor advertises
  env.probe.adapters[0].powered = false;
  auto pre = bluetooth_preflight(env, false);
  REQUIRE(pre);
  CHECK(pre->name == "powered");
  CHECK_FALSE(bluetooth_preflight(env, true).has_value());
}
