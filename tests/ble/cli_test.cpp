// `hybrid virtual-air` and `hybrid ble …` as separate processes, as a user or a script
// would run them: the ready line, the private bus, adverts between processes, the failure
// knobs with their JSON errors and exit codes, and a clean stop.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "ble/private_bus.h"
#include "tests/ble/subprocess.h"

using namespace std::chrono_literals;
using hybrid::testing::hybrid_binary;
using hybrid::testing::Subprocess;
using nlohmann::json;

namespace {

// Starts `hybrid virtual-air ARGS…` and returns its parsed ready line.
json start_air(Subprocess& air) {
  auto line = air.read_line(10s);
  REQUIRE(line);
  json ready = json::parse(*line);
  REQUIRE(ready.at("ready") == true);
  return ready;
}

std::string socket_dir(const std::string& address) {
  // unix:path=/tmp/hybrid-bus-XXXXXX/bus,guid=…
  auto start = address.find("path=") + 5;
  auto end = address.find(',', start);
  return std::filesystem::path(address.substr(start, end - start)).parent_path().string();
}

}  // namespace

TEST_CASE("hybrid virtual-air: a private bus, an advert from one process seen by another, clean stop") {
  Subprocess air({hybrid_binary(), "virtual-air"});
  json ready = start_air(air);
  std::string address = ready.at("dbus_address");
  CHECK(ready.at("private_bus") == true);
  CHECK(ready.at("adapter") == "hci0");
  CHECK(address.rfind("unix:path=", 0) == 0);
  REQUIRE(std::filesystem::exists(socket_dir(address)));

  const std::string hex = "00112233445566778899aabbccddeeff00112233";
  Subprocess phone({hybrid_binary(), "ble", "advertise", hex, "--dbus-address", address});
  auto adv = phone.read_line(10s);
  REQUIRE(adv);
  CHECK(json::parse(*adv).at("length") == 20);

  // The scanner finds the bus through the environment this time.
  Subprocess scan({hybrid_binary(), "ble", "scan", "--timeout", "10", "--expect", hex, "--show-data"},
                  {"HYBRID_DBUS_ADDRESS=" + address});
  auto seen = scan.read_line(10s);
  REQUIRE(seen);
  json ev = json::parse(*seen);
  CHECK(ev.at("matched") == true);
  CHECK(ev.at("uuid") == "fff9");
  CHECK(ev.at("length") == 20);
  CHECK(ev.at("data") == hex);
  CHECK(scan.wait_exit(5s) == 0);

  phone.signal(SIGTERM);
  CHECK(phone.wait_exit(5s) == 0);
  air.signal(SIGTERM);
  CHECK(air.wait_exit(5s) == 0);
  CHECK_FALSE(std::filesystem::exists(socket_dir(address)));  // the private daemon and its socket are gone
}

TEST_CASE("hybrid ble scan: each failure is a distinct JSON error and exit code") {
  struct Case {
    std::vector<std::string> air_args;
    std::vector<std::string> scan_args;
    const char* error;
    int exit_code;
  } cases[] = {
      {{"--powered-off"}, {}, "powered_off", 4},
      {{"--rfkill-blocked"}, {}, "rfkill_blocked", 4},
      {{"--no-adapter"}, {}, "no_adapter", 4},
      {{}, {"--adapter", "hci7"}, "no_adapter", 4},
      {{"--fail", "StartDiscovery=org.bluez.Error.InProgress"}, {}, "discovery_busy", 4},
      {{"--fail", "StartDiscovery=org.freedesktop.DBus.Error.AccessDenied"}, {}, "permission_denied", 4},
      {{}, {"--timeout", "0.3"}, "no_advert_timeout", 5},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {hybrid_binary(), "virtual-air"};
    argv.insert(argv.end(), c.air_args.begin(), c.air_args.end());
    INFO("virtual-air " << (c.air_args.empty() ? "" : c.air_args[0]) << " expecting " << c.error);
    Subprocess air(argv);
    std::string address = start_air(air).at("dbus_address");
    std::vector<std::string> scan_argv = {hybrid_binary(), "ble", "scan", "--dbus-address", address, "--expect",
                                          "00112233"};
    scan_argv.insert(scan_argv.end(), c.scan_args.begin(), c.scan_args.end());
    Subprocess scan(scan_argv);
    auto line = scan.read_line(10s);
    REQUIRE(line);
    json err = json::parse(*line);
    CHECK(err.at("ok") == false);
    CHECK(err.at("error") == c.error);
    CHECK_FALSE(err.at("message").get<std::string>().empty());
    CHECK(scan.wait_exit(5s) == c.exit_code);
    air.signal(SIGINT);
    CHECK(air.wait_exit(5s) == 0);
  }
}

TEST_CASE("hybrid virtual-air on a given bus, and a second one refused") {
  auto bus = hybrid::ble::PrivateBus::start();
  REQUIRE(bus.ok());
  std::string address = (*bus)->address();
  Subprocess air({hybrid_binary(), "virtual-air", "--dbus-address", address});
  json ready = start_air(air);
  CHECK(ready.at("dbus_address") == address);
  CHECK(ready.at("private_bus") == false);

  Subprocess second({hybrid_binary(), "virtual-air", "--dbus-address", address});
  CHECK_FALSE(second.read_line(5s));
  CHECK(second.wait_exit(5s) == 1);

  Subprocess bad({hybrid_binary(), "virtual-air", "--fail", "nonsense"});
  CHECK(bad.wait_exit(5s) == 2);

  // --timeout bounds a run.
  Subprocess timed({hybrid_binary(), "virtual-air", "--timeout", "1"});
  start_air(timed);
  CHECK(timed.wait_exit(5s) == 0);

  air.signal(SIGTERM);
  CHECK(air.wait_exit(5s) == 0);
}
