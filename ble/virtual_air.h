// The virtual air: a small fake org.bluez (BlueZ's documented D-Bus API, doc/org.bluez.*)
// for machines without Bluetooth. One adapter with Adapter1 and LEAdvertisingManager1;
// when a process registers an LEAdvertisement1, the air reads its properties from that
// process and every process discovering on the bus sees a Device1 (random address,
// ServiceData, RSSI) with the usual InterfacesAdded / PropertiesChanged signals.
// Knobs make it fail like a real system can (no adapter, powered off, rfkill, errors).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace hybrid::ble {

struct VirtualAirOptions {
  std::string adapter = "hci0";           // object /org/bluez/<adapter>
  std::string adapter_address = "00:00:5E:00:53:01";  // a documentation-range MAC
  bool no_adapter = false;                // export no adapter at all
  bool powered = true;                    // Adapter1.Powered at start
  bool rfkill_blocked = false;            // powered off, PowerState "off-blocked", power-on fails (Blocked)
  // Method name ("StartDiscovery" or "Adapter1.StartDiscovery") → D-Bus error to answer with,
  // "org.bluez.Error.InProgress" or "org.bluez.Error.Failed:custom message".
  std::map<std::string, std::string> method_errors;
  // How often each advertiser in range is "received" while someone discovers: with
  // DuplicateData (BlueZ's default) every reception is a PropertiesChanged(ServiceData, RSSI).
  std::chrono::milliseconds advert_interval{100};
  // BlueZ's TemporaryTimeout (main.conf, default 30 s): how long the Device1 of an advertiser
  // that stopped stays while discovery goes on. 0 removes it at once.
  std::chrono::milliseconds temporary_timeout{30000};
  int16_t rssi = -55;        // reported RSSI (± a little jitter)
  int max_advertisements = 4;  // LEAdvertisingManager1.SupportedInstances at start
};

// Parses "Method=org.bluez.Error.Name[:message]" into `options.method_errors`.
Status add_method_error(VirtualAirOptions& options, const std::string& spec);

struct VirtualAirStats {
  bool powered = false;
  bool discovering = false;             // Adapter1.Discovering
  int discovery_sessions = 0;           // clients currently discovering
  int start_discovery_calls = 0;        // successful StartDiscovery
  int stop_discovery_calls = 0;         // successful StopDiscovery
  int sessions_ended_by_disconnect = 0; // sessions ended because the client left the bus
  int unregister_calls = 0;             // successful UnregisterAdvertisement
  int adverts_removed_by_disconnect = 0;  // advertisements dropped because the owner left
  int advertisements = 0;               // advertising now (including remote devices)
  int devices = 0;                      // Device1 objects now exported
  int device_reports = 0;               // PropertiesChanged emitted on Device1 objects by receptions
};

class VirtualAir {
 public:
  // Connects to the bus at `bus_address`, exports the objects and takes the name org.bluez.
  static Result<std::unique_ptr<VirtualAir>> create(const std::string& bus_address, VirtualAirOptions options);
  ~VirtualAir();
  VirtualAir(const VirtualAir&) = delete;
  VirtualAir& operator=(const VirtualAir&) = delete;

  // Serves until stop(). Fails if the bus goes away. On the way out, releases every
  // registered advertisement (LEAdvertisement1.Release) as bluetoothd does.
  Status run();
  // Thread-safe and async-signal-safe.
  void stop();

  // Thread-safe snapshot, for tests.
  VirtualAirStats stats() const;
  // Thread-safe: a device that is not a D-Bus client (another phone, a Nearby beacon)
  // broadcasts this service data (128-bit UUID string → bytes). With the address of a
  // device broadcast earlier, that device changes its advert (discovering clients get a
  // PropertiesChanged for the same Device1). Returns the device's address.
  std::string broadcast(std::vector<std::pair<std::string, Bytes>> service_data, std::string address = "");
  // Thread-safe: flips Adapter1.Powered as a user toggling Bluetooth would.
  void set_powered(bool on);

 private:
  struct Impl;
  explicit VirtualAir(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybrid::ble
