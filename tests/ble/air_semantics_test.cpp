// The virtual air against what BlueZ's doc/org.bluez.Adapter.rst says, counted as a generic
// BlueZ client sees it: each scanner is its own connection to a real dbus-daemon, sets its
// filter, discovers, and counts the signals it receives in a time window.
// - DuplicateData (default true): every received advert re-signals ServiceData;
//   false: only changes are signalled.
// - Filters of all discovering clients are merged, and signals go to everyone.
// - Discovering is signalled; devices go when discovery stops and after they stop advertising.
// - Powered=false ends discovery; Properties.Set Powered true turns the adapter on.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <thread>

#include "ble/bluez_radio.h"
#include "ble/discovery_filter.h"
#include "ble/sdbus.h"
#include "ble/virtual_air.h"
#include "hybrid/advert.h"
#include "tests/ble/air_fixture.h"

using namespace hybrid;
using namespace hybrid::ble;
using namespace std::chrono_literals;

namespace {

const std::string kFff9(uuid_string(ServiceUuid::fff9));
const std::string kFde2(uuid_string(ServiceUuid::fde2));
const std::string kFcf1 = "0000fcf1-0000-1000-8000-00805f9b34fb";  // Google Nearby

// What one client saw, by device path.
struct Seen {
  std::map<std::string, int> added, removed, service_data, rssi;
  std::vector<bool> discovering;  // Adapter1.Discovering values signalled, in order
  int powered_changes = 0;
};

// A BlueZ client on its own connection (as Chromium or bluetoothctl is).
class Scanner {
 public:
  explicit Scanner(const std::string& address) {
    auto b = sdbus::open_bus(address);
    REQUIRE(b.ok());
    bus_ = std::move(*b);
    sd_bus_slot* slot = nullptr;
    REQUIRE(sd_bus_match_signal(bus_.get(), &slot, "org.bluez", nullptr, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", &Scanner::on_changed, this) >= 0);
    slots_.emplace_back(slot);
    REQUIRE(sd_bus_match_signal(bus_.get(), &slot, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager",
                                "InterfacesAdded", &Scanner::on_added, this) >= 0);
    slots_.emplace_back(slot);
    REQUIRE(sd_bus_match_signal(bus_.get(), &slot, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager",
                                "InterfacesRemoved", &Scanner::on_removed, this) >= 0);
    slots_.emplace_back(slot);
  }

  // Calls an Adapter1 method; returns the D-Bus error name, or "" on success.
  std::string adapter_call(const char* method, const std::function<void(sd_bus_message*)>& args = {}) {
    auto m = sdbus::new_method_call(bus_.get(), "org.bluez", "/org/bluez/hci0", "org.bluez.Adapter1", method);
    if (args) args(m.get());
    return finish(std::move(m));
  }
  std::string set_filter(const std::function<void(sd_bus_message*)>& entries) {
    return adapter_call("SetDiscoveryFilter", [&](sd_bus_message* m) {
      REQUIRE(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
      if (entries) entries(m);
      REQUIRE(sd_bus_message_close_container(m) >= 0);
    });
  }
  std::string set_powered(bool on) {
    auto m = sdbus::new_method_call(bus_.get(), "org.bluez", "/org/bluez/hci0", "org.freedesktop.DBus.Properties",
                                    "Set");
    REQUIRE(sd_bus_message_append(m.get(), "ssv", "org.bluez.Adapter1", "Powered", "b", on ? 1 : 0) >= 0);
    return finish(std::move(m));
  }

  // Serves the connection for `window`, collecting signals.
  void pump(std::chrono::milliseconds window) {
    auto deadline = sdbus::Clock::now() + window;
    while (sdbus::Clock::now() < deadline) {
      while (sd_bus_process(bus_.get(), nullptr) > 0) {
      }
      REQUIRE(sdbus::wait(bus_.get(), deadline).ok());
    }
    while (sd_bus_process(bus_.get(), nullptr) > 0) {
    }
  }
  Seen take() { return std::exchange(seen_, {}); }

 private:
  std::string finish(sdbus::MessagePtr m) {
    auto r = sdbus::call(bus_.get(), m.get(), 5s);  // signals arriving meanwhile are counted too
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    return (*r)->error ? (*r)->error->name : "";
  }
  static int on_changed(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Scanner*>(ud);
    const char* iface = nullptr;
    if (sd_bus_message_read(m, "s", &iface) < 0) return 0;
    std::string path = sd_bus_message_get_path(m);
    std::string i = iface;
    sdbus::read_dict(m, [&](std::string_view key, sd_bus_message* mm) {
      if (i == "org.bluez.Device1" && key == "ServiceData") ++self->seen_.service_data[path];
      if (i == "org.bluez.Device1" && key == "RSSI") ++self->seen_.rssi[path];
      if (i == "org.bluez.Adapter1" && key == "Powered") ++self->seen_.powered_changes;
      if (i == "org.bluez.Adapter1" && key == "Discovering") {
        auto b = sdbus::read_variant_bool(mm);
        if (b) self->seen_.discovering.push_back(*b);
        return b.has_value();
      }
      return false;
    });
    return 0;
  }
  static int on_added(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Scanner*>(ud);
    const char* path = nullptr;
    if (sd_bus_message_read(m, "o", &path) < 0) return 0;
    if (std::string(path).find("/dev_") != std::string::npos) ++self->seen_.added[path];
    return 0;
  }
  static int on_removed(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Scanner*>(ud);
    const char* path = nullptr;
    if (sd_bus_message_read(m, "o", &path) < 0) return 0;
    if (std::string(path).find("/dev_") != std::string::npos) ++self->seen_.removed[path];
    return 0;
  }

  sdbus::BusPtr bus_;
  std::vector<sdbus::SlotPtr> slots_;
  Seen seen_;
};

std::string device_path(const std::string& address) {
  std::string tail = address;
  std::replace(tail.begin(), tail.end(), ':', '_');
  return "/org/bluez/hci0/dev_" + tail;
}

void transport_le(sd_bus_message* m) { REQUIRE(sd_bus_message_append(m, "{sv}", "Transport", "s", "le") >= 0); }
void duplicate(sd_bus_message* m, bool on) {
  REQUIRE(sd_bus_message_append(m, "{sv}", "DuplicateData", "b", on ? 1 : 0) >= 0);
}

// At 100 ms a second holds about 10 receptions; the load on a shared CI machine may delay a
// few, and the window edges may add one.
constexpr auto kWindow = 1000ms;
constexpr int kAtLeast = 6, kAtMost = 12;

}  // namespace

TEST_CASE("the merged filter model follows bluetoothd") {
  DiscoveryFilter uuid_only;
  uuid_only.uuids = {kFff9};
  ReceivedAdvert phone{"4A:00:00:00:00:01", "", {kFff9}, -60, std::nullopt};
  ReceivedAdvert beacon{"4A:00:00:00:00:02", "", {kFcf1}, -60, std::nullopt};
  CHECK(normalize_uuid("FFF9") == kFff9);
  CHECK(normalize_uuid("0xfde2") == kFde2);
  CHECK_FALSE(normalize_uuid("not-a-uuid"));
  CHECK(filter_matches(uuid_only, phone));
  CHECK_FALSE(filter_matches(uuid_only, beacon));
  CHECK(advert_reported({uuid_only, std::nullopt}, beacon));  // a client without filter sees all
  DiscoveryFilter strong;
  strong.rssi = -50;
  CHECK_FALSE(filter_matches(strong, phone));
  DiscoveryFilter near;
  near.pathloss = 40;
  CHECK_FALSE(filter_matches(near, phone));  // no TX power in the advert
  phone.tx_power = -10;
  CHECK_FALSE(filter_matches(near, phone));  // pathloss -10 - (-60) = 50, over 40
  phone.tx_power = -25;
  CHECK(filter_matches(near, phone));  // pathloss 35
  DiscoveryFilter bredr;
  bredr.transport = "bredr";
  CHECK_FALSE(advert_reported({bredr}, phone));
  DiscoveryFilter pattern;
  pattern.pattern = "4A:00:00:00:00:02";
  CHECK(advert_reported({pattern}, beacon));
  CHECK_FALSE(advert_reported({pattern}, phone));

  DiscoveryFilter chromium;  // {"Transport": "le"}: DuplicateData keeps its default, true
  chromium.transport = "le";
  CHECK(merge({chromium}).duplicate_data);
  DiscoveryFilter quiet = chromium;
  quiet.duplicate_data = false;
  CHECK_FALSE(merge({quiet}).duplicate_data);
  CHECK(merge({quiet, chromium}).duplicate_data);
  CHECK_FALSE(merge({std::nullopt}).duplicate_data);  // StartDiscovery without any filter
  CHECK(merge({quiet}).filtered);
  CHECK_FALSE(merge({quiet, std::nullopt}).filtered);
  CHECK(rssi_change_signalled(true, -55, -54));
  CHECK_FALSE(rssi_change_signalled(false, -55, -52));  // under the 8 dB delta threshold
  CHECK(rssi_change_signalled(false, -55, -47));
  CHECK_FALSE(rssi_change_signalled(true, -55, -55));
}

TEST_CASE("DuplicateData default (Chromium's filter): ServiceData re-signalled on every reception") {
  Air air;
  std::string phone = air.air().broadcast({{kFff9, Bytes(20, 0x11)}});
  Scanner chromium(air.address());
  REQUIRE(chromium.set_filter(transport_le) == "");  // exactly what Chromium 156 sends
  REQUIRE(chromium.adapter_call("StartDiscovery") == "");
  chromium.pump(50ms);
  chromium.take();
  chromium.pump(kWindow);
  Seen s = chromium.take();
  INFO("ServiceData signals in 1 s: " << s.service_data[device_path(phone)]);
  CHECK(s.service_data[device_path(phone)] >= kAtLeast);
  CHECK(s.service_data[device_path(phone)] <= kAtMost);
  CHECK(s.added.empty());  // the same device object, re-reported
  REQUIRE(chromium.adapter_call("StopDiscovery") == "");
  chromium.pump(100ms);
  s = chromium.take();
  CHECK(s.removed[device_path(phone)] == 1);  // temporary devices go when discovery stops
  CHECK(s.discovering == std::vector<bool>{false});
}

TEST_CASE("DuplicateData=false: only changes are signalled") {
  Air air;
  std::string phone = air.air().broadcast({{kFde2, Bytes(20, 0x21)}});
  Scanner quiet(air.address());
  REQUIRE(quiet.set_filter([](sd_bus_message* m) {
    transport_le(m);
    duplicate(m, false);
  }) == "");
  REQUIRE(quiet.adapter_call("StartDiscovery") == "");
  quiet.pump(kWindow);
  Seen s = quiet.take();
  CHECK(s.discovering == std::vector<bool>{true});
  CHECK(s.added[device_path(phone)] == 1);
  CHECK(s.service_data[device_path(phone)] == 0);
  air.air().broadcast({{kFde2, Bytes(20, 0x22)}}, phone);  // the advert changes once
  quiet.pump(kWindow);
  s = quiet.take();
  CHECK(s.service_data[device_path(phone)] == 1);
}

TEST_CASE("no filter at all: no duplicates and RSSI only past the 8 dB threshold") {
  Air air;  // RSSI jitter is ±3 dB, under the threshold
  std::string phone = air.air().broadcast({{kFff9, Bytes(20, 0x31)}});
  Scanner plain(air.address());
  REQUIRE(plain.adapter_call("StartDiscovery") == "");
  plain.pump(kWindow);
  Seen s = plain.take();
  CHECK(s.added[device_path(phone)] == 1);
  CHECK(s.service_data[device_path(phone)] == 0);
  CHECK(s.rssi[device_path(phone)] == 0);
}

TEST_CASE("filters of all discovering clients are merged; signals reach every client") {
  Air air;
  std::string phone = air.air().broadcast({{kFff9, Bytes(20, 0x41)}});
  std::string beacon = air.air().broadcast({{kFcf1, Bytes(22, 0x42)}});
  Scanner quiet(air.address()), chromium(air.address());
  REQUIRE(quiet.set_filter([](sd_bus_message* m) {
    duplicate(m, false);
    REQUIRE(sd_bus_message_append(m, "{sv}", "UUIDs", "as", 1, "fff9") >= 0);
  }) == "");
  REQUIRE(quiet.adapter_call("StartDiscovery") == "");
  quiet.pump(kWindow);
  Seen s = quiet.take();
  CHECK(s.added[device_path(phone)] == 1);
  CHECK(s.added.count(device_path(beacon)) == 0);  // outside the only filter
  CHECK(s.service_data[device_path(phone)] == 0);

  REQUIRE(chromium.set_filter(transport_le) == "");
  REQUIRE(chromium.adapter_call("StartDiscovery") == "");
  chromium.pump(50ms);
  quiet.pump(kWindow);
  s = quiet.take();
  CHECK(s.added[device_path(beacon)] == 1);  // the merged filter now takes it in
  CHECK(s.discovering.empty());              // already discovering: no new signal
  CHECK(s.service_data[device_path(phone)] >= kAtLeast);  // duplicates asked by the other client
  CHECK(s.service_data[device_path(beacon)] >= kAtLeast);

  REQUIRE(chromium.adapter_call("StopDiscovery") == "");
  quiet.pump(100ms);
  quiet.take();
  quiet.pump(kWindow);
  s = quiet.take();
  CHECK(s.service_data[device_path(phone)] == 0);
  CHECK(s.removed.empty());  // quiet still discovers
}

TEST_CASE("a device is removed after its advertiser stops, once the temporary timeout passes") {
  VirtualAirOptions opt;
  opt.temporary_timeout = 600ms;
  Air air(opt);
  BluezRadio phone([&] {
    BluezRadioOptions o;
    o.dbus_address = air.address();
    o.call_timeout = 5s;
    return o;
  }());
  REQUIRE(phone.start_advertising(Bytes(20, 0x51)).ok());
  Scanner chromium(air.address());
  REQUIRE(chromium.set_filter(transport_le) == "");
  REQUIRE(chromium.adapter_call("StartDiscovery") == "");
  chromium.pump(500ms);
  Seen s = chromium.take();
  REQUIRE(s.added.size() == 1);
  std::string path = s.added.begin()->first;
  CHECK(s.service_data[path] >= 2);
  phone.stop_advertising();
  chromium.pump(300ms);
  chromium.take();
  chromium.pump(200ms);
  s = chromium.take();
  CHECK(s.service_data[path] == 0);  // no longer heard
  CHECK(s.removed.empty());          // but not yet forgotten
  chromium.pump(800ms);
  s = chromium.take();
  CHECK(s.removed[path] == 1);
  CHECK(air.air().stats().devices == 0);
}

TEST_CASE("Powered: off ends discovery, Set Powered true turns it on, StartDiscovery needs it on") {
  VirtualAirOptions opt;
  opt.powered = false;
  Air air(opt);
  air.air().broadcast({{kFff9, Bytes(20, 0x61)}});
  Scanner chromium(air.address());
  CHECK(chromium.adapter_call("StartDiscovery") == "org.bluez.Error.NotReady");
  REQUIRE(chromium.set_powered(true) == "");  // what "Turn on Bluetooth" does
  chromium.pump(100ms);
  Seen s = chromium.take();
  CHECK(s.powered_changes == 1);
  REQUIRE(chromium.set_filter(transport_le) == "");
  REQUIRE(chromium.adapter_call("StartDiscovery") == "");
  chromium.pump(300ms);
  s = chromium.take();
  CHECK(s.added.size() == 1);
  REQUIRE(chromium.set_powered(false) == "");
  chromium.pump(200ms);
  s = chromium.take();
  CHECK(s.powered_changes == 1);
  CHECK(s.discovering == std::vector<bool>{false});
  CHECK(s.removed.size() == 1);
  CHECK_FALSE(air.air().stats().discovering);
}

TEST_CASE("SetDiscoveryFilter rejects what BlueZ rejects") {
  Air air;
  Scanner c(air.address());
  CHECK(c.set_filter([](sd_bus_message* m) {
    REQUIRE(sd_bus_message_append(m, "{sv}", "RSSI", "n", -60) >= 0);
    REQUIRE(sd_bus_message_append(m, "{sv}", "Pathloss", "q", 40) >= 0);
  }) == "org.bluez.Error.InvalidArguments");
  CHECK(c.set_filter([](sd_bus_message* m) {
    REQUIRE(sd_bus_message_append(m, "{sv}", "UUIDs", "as", 1, "not-a-uuid") >= 0);
  }) == "org.bluez.Error.InvalidArguments");
  CHECK(c.set_filter([](sd_bus_message* m) {
    REQUIRE(sd_bus_message_append(m, "{sv}", "Transport", "s", "radio") >= 0);
  }) == "org.bluez.Error.InvalidArguments");
  CHECK(c.set_filter([](sd_bus_message* m) {
    REQUIRE(sd_bus_message_append(m, "{sv}", "Bogus", "b", 1) >= 0);
  }) == "org.bluez.Error.InvalidArguments");
  CHECK(c.set_filter({}) == "");  // an empty dictionary clears the filter
}
