// The virtual air's world and knobs without D-Bus (ble/virtual_air_model.h,
// ble/virtual_air_faults.h): adverts seen by discovering clients, what bluetoothd would
// signal and in which order, the temporary-device timeout, and the fault table. Time is
// passed in, so every timing here is exact.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "ble/virtual_air.h"
#include "ble/virtual_air_faults.h"
#include "ble/virtual_air_model.h"

using namespace hybrid;
using namespace hybrid::ble;
using namespace std::chrono_literals;

namespace {

using Kind = AirSignal::Kind;

const std::string kFff9 = "0000fff9-0000-1000-8000-00805f9b34fb";
const AirClock::time_point t0{};

std::vector<Kind> kinds(const std::vector<AirSignal>& signals) {
  std::vector<Kind> out;
  for (const auto& s : signals) out.push_back(s.kind);
  return out;
}

std::vector<std::string> names(const AirSignal& s) { return {s.properties.begin(), s.properties.end()}; }

VirtualAirOptions options() {
  VirtualAirOptions o;
  o.advert_interval = 100ms;
  o.temporary_timeout = 1000ms;
  return o;
}

AdvertisementProperties cable_advert(size_t bytes = 20) {
  AdvertisementProperties p;
  p.service_data = {{kFff9, Bytes(bytes, 0xa5)}};
  return p;
}

// Registers an advertisement for `owner` through both steps; returns the model's answer.
AirReply advertise(VirtualAirModel& air, const std::string& owner, const std::string& path,
                   const AdvertisementProperties& props) {
  uint64_t pending = 0;
  if (auto e = air.begin_registration(owner, path, pending)) return e;
  auto from = air.take_pending(pending);
  REQUIRE(from);
  CHECK(from->owner == owner);
  CHECK(from->path == path);
  return air.register_advertisement(*from, props);
}

}  // namespace

TEST_CASE("an advertiser's advert is seen by a discovering adapter, re-reported with DuplicateData") {
  VirtualAirModel air(options(), t0, 1);
  REQUIRE_FALSE(advertise(air, ":1.5", "/adv0", cable_advert()));
  CHECK(kinds(air.take_signals()) == std::vector<Kind>{Kind::advertising_changed});
  CHECK(air.devices().empty());  // nobody discovers yet
  CHECK(air.registered_count() == 1);
  CHECK(air.supported_instances() == 3);

  REQUIRE_FALSE(air.start_discovery(":1.2", t0));
  auto signals = air.take_signals();
  REQUIRE(kinds(signals) == std::vector<Kind>{Kind::adapter_changed, Kind::device_added});
  CHECK(names(signals[0]) == std::vector<std::string>{"Discovering"});
  REQUIRE(air.devices().size() == 1);
  const auto& [id, device] = *air.devices().begin();
  CHECK(signals[1].device == id);
  const AirAdvert* advert = air.advert(id);
  REQUIRE(advert);
  CHECK(device.address == advert->address);
  CHECK(device.address.size() == 17);
  CHECK(device.path == "/org/bluez/hci0/dev_" + [&] {
    std::string tail = device.address;
    std::replace(tail.begin(), tail.end(), ':', '_');
    return tail;
  }());
  CHECK(advert->service_data == AirServiceData{{kFff9, Bytes(20, 0xa5)}});
  CHECK(std::abs(device.rssi - options().rssi) <= 3);

  // Without a filter: no duplicates, and ±3 dB of jitter stays under the 8 dB threshold.
  air.advance(t0 + 100ms);
  CHECK(air.take_signals().empty());
  // Chromium's filter (DuplicateData by default): every reception re-signals ServiceData.
  air.set_discovery_filter(":1.2", DiscoveryFilter{});
  CHECK(air.take_signals().empty());
  air.advance(t0 + 150ms);  // before the next reception is due: nothing
  CHECK(air.take_signals().empty());
  air.advance(t0 + 200ms);
  signals = air.take_signals();
  REQUIRE(signals.size() == 1);
  CHECK(signals[0].kind == Kind::device_changed);
  CHECK(signals[0].device == id);
  CHECK(names(signals[0]).back() == "ServiceData");
  CHECK(air.stats().device_reports == 1);
}

TEST_CASE("a stopped advertiser's device stays until the temporary timeout, then goes") {
  VirtualAirModel air(options(), t0, 2);
  REQUIRE_FALSE(advertise(air, ":1.5", "/adv0", cable_advert()));
  REQUIRE_FALSE(air.start_discovery(":1.2", t0));
  air.take_signals();
  REQUIRE(air.devices().size() == 1);
  uint64_t id = air.devices().begin()->first;

  auto stopped = t0 + 300ms;
  REQUIRE_FALSE(air.unregister_advertisement(":1.5", "/adv0", stopped));
  CHECK(kinds(air.take_signals()) == std::vector<Kind>{Kind::advertising_changed});
  CHECK(air.stats().advertisements == 0);
  CHECK(air.stats().unregister_calls == 1);
  CHECK(air.registered_count() == 0);
  CHECK(air.devices().size() == 1);  // still shown, no longer reported
  // Unregistering again: bluetoothd no longer knows it.
  auto again = air.unregister_advertisement(":1.5", "/adv0", stopped);
  REQUIRE(again);
  CHECK(again->name == "org.bluez.Error.DoesNotExist");

  air.advance(stopped + 900ms);  // a reception, 100 ms before the timeout: still there
  CHECK(air.take_signals().empty());
  CHECK(air.devices().size() == 1);
  air.advance(stopped + 1000ms);  // the next reception
  auto signals = air.take_signals();
  REQUIRE(kinds(signals) == std::vector<Kind>{Kind::device_removed});
  CHECK(signals[0].device == id);
  CHECK(air.devices().empty());
  CHECK(air.adverts().empty());
}

TEST_CASE("with a temporary timeout of 0 the device goes at once; a client leaving ends its session") {
  auto o = options();
  o.temporary_timeout = 0ms;
  VirtualAirModel air(o, t0, 3);
  REQUIRE_FALSE(advertise(air, ":1.5", "/adv0", cable_advert()));
  REQUIRE_FALSE(air.start_discovery(":1.2", t0));
  air.take_signals();
  air.client_gone(":1.5", t0 + 10ms);
  CHECK(kinds(air.take_signals()) == std::vector<Kind>{Kind::device_removed, Kind::advertising_changed});
  CHECK(air.stats().adverts_removed_by_disconnect == 1);

  air.client_gone(":1.2", t0 + 20ms);
  auto signals = air.take_signals();
  REQUIRE(kinds(signals) == std::vector<Kind>{Kind::adapter_changed});
  CHECK(names(signals[0]) == std::vector<std::string>{"Discovering"});
  CHECK_FALSE(air.discovering());
  CHECK(air.stats().sessions_ended_by_disconnect == 1);
}

TEST_CASE("the model answers with BlueZ's errors") {
  VirtualAirModel air(options(), t0, 4);
  REQUIRE_FALSE(air.start_discovery(":1.2", t0));
  auto twice = air.start_discovery(":1.2", t0);
  REQUIRE(twice);
  CHECK(twice->name == "org.bluez.Error.InProgress");
  auto not_started = air.stop_discovery(":1.3");
  REQUIRE(not_started);
  CHECK(not_started->text() == "org.bluez.Error.Failed (No discovery started)");

  REQUIRE_FALSE(advertise(air, ":1.5", "/adv0", cable_advert()));
  auto exists = advertise(air, ":1.5", "/adv0", cable_advert());
  REQUIRE(exists);
  CHECK(exists->name == "org.bluez.Error.AlreadyExists");
  // 2 + 2 + 28 bytes of service data is over the 31-byte legacy budget.
  auto too_long = advertise(air, ":1.5", "/adv1", cable_advert(28));
  REQUIRE(too_long);
  CHECK(too_long->text() == "org.bluez.Error.Failed (Failed to parse advertisement.)");
  auto broadcast_discoverable = cable_advert();
  broadcast_discoverable.discoverable = true;
  CHECK(advertise(air, ":1.5", "/adv2", broadcast_discoverable));
  auto bad_type = cable_advert();
  bad_type.type = "beacon";
  CHECK(advertise(air, ":1.5", "/adv3", bad_type));
  CHECK(air.registered_count() == 1);
  for (int i = 1; i < 4; ++i) REQUIRE_FALSE(advertise(air, ":1.6", "/adv" + std::to_string(i), cable_advert()));
  auto full = advertise(air, ":1.7", "/adv0", cable_advert());
  REQUIRE(full);
  CHECK(full->name == "org.bluez.Error.NotPermitted");
  CHECK(air.supported_instances() == 0);

  // Powering off ends discovery and removes every device; StartDiscovery then needs power.
  air.take_signals();
  air.set_powered(false);
  auto signals = air.take_signals();
  REQUIRE_FALSE(signals.empty());
  CHECK(signals.front().kind == Kind::adapter_changed);
  CHECK(names(signals.front()) == std::vector<std::string>{"Powered", "PowerState"});
  CHECK(signals.back().kind == Kind::adapter_changed);
  CHECK(names(signals.back()) == std::vector<std::string>{"Discovering"});
  CHECK(std::count_if(signals.begin(), signals.end(), [](auto& s) { return s.kind == Kind::device_removed; }) == 4);
  CHECK(air.devices().empty());
  CHECK(std::string(air.power_state()) == "off");
  auto off = air.start_discovery(":1.2", t0);
  REQUIRE(off);
  CHECK(off->name == "org.bluez.Error.NotReady");
}

TEST_CASE("rfkill: the adapter starts off-blocked and refuses to power on") {
  auto o = options();
  o.rfkill_blocked = true;
  VirtualAirModel air(o, t0, 5);
  CHECK_FALSE(air.powered());
  CHECK(std::string(air.power_state()) == "off-blocked");
  auto e = air.write_powered(true);
  REQUIRE(e);
  CHECK(e->text() == "org.bluez.Error.Blocked (Blocked through rfkill)");
  CHECK(air.take_signals().empty());
  CHECK_FALSE(air.powered());
}

TEST_CASE("a remote broadcaster changing its advert is signalled on the same device") {
  VirtualAirModel air(options(), t0, 6);
  REQUIRE_FALSE(air.start_discovery(":1.2", t0));
  air.take_signals();
  std::string address = air.random_address();
  air.broadcast(address, {{kFff9, Bytes{1, 2, 3}}});
  auto signals = air.take_signals();
  REQUIRE(kinds(signals) == std::vector<Kind>{Kind::device_added});
  uint64_t id = signals[0].device;
  CHECK(air.devices().at(id).address == address);
  air.broadcast(address, {{kFff9, Bytes{4, 5, 6}}});
  signals = air.take_signals();
  REQUIRE(kinds(signals) == std::vector<Kind>{Kind::device_changed});
  CHECK(signals[0].device == id);
  CHECK(names(signals[0]) == std::vector<std::string>{"ServiceData"});
  CHECK(air.advert(id)->service_data == AirServiceData{{kFff9, Bytes{4, 5, 6}}});
}

TEST_CASE("the fault table answers the configured calls with the configured errors") {
  VirtualAirOptions o;
  REQUIRE(add_method_error(o, "StartDiscovery=org.bluez.Error.InProgress").ok());
  REQUIRE(add_method_error(o, "LEAdvertisingManager1.RegisterAdvertisement=org.bluez.Error.Failed:no room").ok());
  CHECK_FALSE(add_method_error(o, "StartDiscovery").ok());
  CHECK_FALSE(add_method_error(o, "=org.bluez.Error.Failed").ok());
  CHECK_FALSE(add_method_error(o, "StartDiscovery=NotADbusName").ok());
  FaultTable faults(o.method_errors);
  REQUIRE_FALSE(faults.empty());

  auto start = faults.error_for("org.bluez.Adapter1", "StartDiscovery");
  REQUIRE(start);
  CHECK(start->name == "org.bluez.Error.InProgress");
  CHECK(start->message == "Operation already in progress");  // BlueZ's own message
  auto reg = faults.error_for("org.bluez.LEAdvertisingManager1", "RegisterAdvertisement");
  REQUIRE(reg);
  CHECK(reg->name == "org.bluez.Error.Failed");
  CHECK(reg->message == "no room");
  // A knob naming the interface matches only that interface; other calls pass.
  CHECK_FALSE(faults.error_for("org.example.Other1", "RegisterAdvertisement"));
  CHECK_FALSE(faults.error_for("org.bluez.Adapter1", "StopDiscovery"));
  CHECK(FaultTable({}).empty());

  VirtualAirOptions unknown;
  REQUIRE(add_method_error(unknown, "StopDiscovery=org.example.Error.Odd").ok());
  auto odd = FaultTable(unknown.method_errors).error_for("", "StopDiscovery");
  REQUIRE(odd);
  CHECK(odd->message == "virtual air: simulated failure");
}
