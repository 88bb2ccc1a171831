// Unit tests without D-Bus: UUIDs, error names and messages, the BlueZ error mapping, and
// the in-memory LoopbackRadio that other layers test against.
#include <catch2/catch.hpp>

#include <stop_token>
#include <thread>

#include "ble/bluez_errors.h"
#include "ble/loopback_radio.h"
#include "ble/radio.h"

using namespace hybrid;
using namespace hybrid::ble;
using namespace std::chrono_literals;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("caBLE service UUIDs are recognised in BlueZ's and short forms, others are not") {
  CHECK(parse_cable_uuid("0000fff9-0000-1000-8000-00805f9b34fb") == ServiceUuid::fff9);
  CHECK(parse_cable_uuid("0000FDE2-0000-1000-8000-00805F9B34FB") == ServiceUuid::fde2);
  CHECK(parse_cable_uuid("fff9") == ServiceUuid::fff9);
  CHECK(parse_cable_uuid("0xFDE2") == ServiceUuid::fde2);
  CHECK_FALSE(parse_cable_uuid("0000fcf1-0000-1000-8000-00805f9b34fb"));  // Nearby, not caBLE
  CHECK_FALSE(parse_cable_uuid("0000fff9-0000-1000-8000-00805f9b34fc"));  // not the Bluetooth base UUID
  CHECK_FALSE(parse_cable_uuid(""));
  CHECK(uuid_string(ServiceUuid::fff9) == "0000fff9-0000-1000-8000-00805f9b34fb");
  CHECK(uuid_short_name(ServiceUuid::fde2) == "fde2");
}

TEST_CASE("radio errors carry a stable name and round-trip through Error::code") {
  for (int c = 1; c <= 10; ++c) {
    auto e = static_cast<RadioError>(c);
    Error err = radio_error(e, "x");
    REQUIRE(radio_error_of(err) == e);
    CHECK(radio_error_name(e) != "unknown");
  }
  CHECK_FALSE(radio_error_of(make_error("no code")));
  CHECK_FALSE(radio_error_of(errno_error(3, "an errno with powered_off's number")));
  CHECK(radio_error_name(RadioError::powered_off) == "powered_off");
}

TEST_CASE("the timeout message says how long, what was seen, and what to check") {
  Error none = no_advert_error(60s, 0);
  CHECK(is_radio_error(none, RadioError::no_advert_timeout));
  CHECK(contains(none.message, "within 60 s"));
  CHECK(contains(none.message, "no caBLE advert was seen"));
  CHECK(contains(none.message, "is Bluetooth on on the phone, and is it within a few metres?"));
  Error some = no_advert_error(1500ms, 3);
  CHECK(contains(some.message, "within 1500 ms"));
  CHECK(contains(some.message, "3 caBLE advert(s) seen"));
}

TEST_CASE("BlueZ and bus errors map to distinct, actionable radio errors") {
  BluezCall start{"Adapter1.StartDiscovery", "hci0", "the system D-Bus"};
  BluezCall reg{"LEAdvertisingManager1.RegisterAdvertisement", "hci1", "the system D-Bus"};
  struct Case {
    BluezCall call;
    const char* name;
    RadioError want;
    const char* hint;
  } cases[] = {
      {start, "org.freedesktop.DBus.Error.ServiceUnknown", RadioError::bluez_not_running, "systemctl start bluetooth"},
      {start, "org.freedesktop.DBus.Error.NameHasNoOwner", RadioError::bluez_not_running, "systemctl start bluetooth"},
      {start, "org.freedesktop.DBus.Error.AccessDenied", RadioError::permission_denied, "bluetooth.conf"},
      {start, "org.bluez.Error.NotAuthorized", RadioError::permission_denied, "`bluetooth`"},
      {start, "org.bluez.Error.NotPermitted", RadioError::permission_denied, "policy"},
      {start, "org.bluez.Error.NotReady", RadioError::powered_off, "--power-on"},
      {start, "org.bluez.Error.Blocked", RadioError::rfkill_blocked, "rfkill unblock bluetooth"},
      {start, "org.bluez.Error.InProgress", RadioError::discovery_busy, "stop other Bluetooth scanners"},
      {start, "org.freedesktop.DBus.Error.UnknownObject", RadioError::no_adapter, "bluetoothctl list"},
      {start, "org.bluez.Error.NotSupported", RadioError::no_adapter, "does not support Bluetooth LE"},
      {start, "org.freedesktop.DBus.Error.NoReply", RadioError::dbus_failure, "restart bluetooth"},
      {start, "org.bluez.Error.Failed", RadioError::dbus_failure, "journalctl -u bluetooth"},
      {reg, "org.bluez.Error.NotPermitted", RadioError::advertising_rejected, "advertising slot"},
      {reg, "org.bluez.Error.Failed", RadioError::advertising_rejected, "31-byte"},
      {reg, "org.bluez.Error.InvalidLength", RadioError::advertising_rejected, "31-byte"},
      {reg, "org.freedesktop.DBus.Error.AccessDenied", RadioError::permission_denied, "policy"},
  };
  for (const auto& c : cases) {
    INFO(c.call.method << " " << c.name);
    Error e = map_bluez_error(c.call, c.name, "detail text");
    CHECK(radio_error_of(e) == c.want);
    CHECK(contains(e.message, c.hint));
  }
  // The adapter named in the call shows up in adapter errors.
  CHECK(contains(map_bluez_error(reg, "org.bluez.Error.Failed", "").message, "hci1"));
  CHECK(contains(map_bluez_error(start, "org.bluez.Error.NotReady", "").message,
                 "Bluetooth adapter hci0 is powered off: turn Bluetooth on, or run again with --power-on"));
}

TEST_CASE("no-adapter messages name what exists") {
  CHECK(contains(no_adapter_error("hci0", "").message, "BlueZ lists none"));
  Error e = no_adapter_error("hci3", "hci0, hci1");
  CHECK(contains(e.message, "hci3 not found (BlueZ has: hci0, hci1)"));
  CHECK(adapter_name("/org/bluez/hci2") == "hci2");
  CHECK(adapter_name("hci2") == "hci2");
}

TEST_CASE("loopback radios hear each other, not themselves") {
  auto air = LoopbackAir::create();
  LoopbackRadio phone(air, "AA:AA:AA:AA:AA:01");
  LoopbackRadio client(air, "CC:CC:CC:CC:CC:01");
  Bytes advert(20, 0x42);
  REQUIRE(phone.start_advertising(advert).ok());

  std::vector<ServiceDataEvent> got;
  Status st = client.listen(
      [&](const ServiceDataEvent& ev) {
        got.push_back(ev);
        return ev.data == advert;
      },
      2s);
  REQUIRE(st.ok());
  REQUIRE(got.size() == 1);
  CHECK(got[0].uuid == ServiceUuid::fff9);
  CHECK(got[0].device_address == "AA:AA:AA:AA:AA:01");
  CHECK(air->active_listeners() == 0);

  // The phone does not hear its own advert.
  Status self = phone.listen([](const ServiceDataEvent&) { return true; }, 100ms);
  CHECK(is_radio_error(self.error(), RadioError::no_advert_timeout));
}

TEST_CASE("loopback: adverts that start during a scan, new data on the same address, stop") {
  auto air = LoopbackAir::create();
  LoopbackRadio client(air, "CC:01");
  air->broadcast("NEARBY", ServiceUuid::fde2, Bytes(10, 1));  // wrong length: reported, caller decides
  std::vector<ServiceDataEvent> got;
  std::thread later([&] {
    std::this_thread::sleep_for(50ms);
    air->broadcast("PHONE", ServiceUuid::fff9, Bytes(20, 1));
    std::this_thread::sleep_for(20ms);
    air->broadcast("PHONE", ServiceUuid::fff9, Bytes(20, 2));  // same address, new advert
  });
  Status st = client.listen(
      [&](const ServiceDataEvent& ev) {
        got.push_back(ev);
        return ev.data == Bytes(20, 2);
      },
      2s);
  later.join();
  REQUIRE(st.ok());
  REQUIRE(got.size() == 3);
  CHECK(got[0].data.size() == 10);
  CHECK(got[1].device_address == "PHONE");
  CHECK(got[2].device_address == "PHONE");

  air->stop_broadcast("PHONE");
  air->stop_broadcast("NEARBY");
  CHECK(is_radio_error(client.listen([](const ServiceDataEvent&) { return true; }, 50ms).error(),
                       RadioError::no_advert_timeout));
}

TEST_CASE("loopback: stop from another thread, stop before listen, injected errors") {
  auto air = LoopbackAir::create();
  LoopbackRadio client(air, "CC:01");
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  auto t0 = std::chrono::steady_clock::now();
  Status st = client.listen([](const ServiceDataEvent&) { return false; }, 10s, stop.get_token());
  stopper.join();
  CHECK(is_radio_error(st.error(), RadioError::cancelled));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(air->active_listeners() == 0);

  // A token stopped before the scan: the listen returns at once.
  t0 = std::chrono::steady_clock::now();
  CHECK(is_radio_error(client.listen([](const ServiceDataEvent&) { return true; }, 10s, stop.get_token()).error(),
                       RadioError::cancelled));
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  // The stop belongs to that token only: the radio keeps no state of it.
  CHECK(is_radio_error(client.listen([](const ServiceDataEvent&) { return true; }, 20ms).error(),
                       RadioError::no_advert_timeout));

  air->fail_next_listen(radio_error(RadioError::powered_off, "off"));
  CHECK(is_radio_error(client.listen([](const ServiceDataEvent&) { return true; }, 1s).error(),
                       RadioError::powered_off));
  air->fail_next_advertise(radio_error(RadioError::advertising_rejected, "no"));
  CHECK(is_radio_error(client.start_advertising(Bytes(20, 0)).error(), RadioError::advertising_rejected));
  CHECK(client.start_advertising(Bytes(20, 0)).ok());
}
