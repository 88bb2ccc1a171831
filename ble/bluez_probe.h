// What `hybrid doctor` needs to know about Bluetooth, gathered over D-Bus without using the
// radio: can we reach the bus, does anyone own org.bluez, which adapters BlueZ lists and in
// what power state, and does the bus policy let us call the discovery and advertising
// methods. Facts only: doctor/checks.h turns them into verdicts with fixes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace hybrid::ble {

struct BluezProbeOptions {
  std::string dbus_address;  // empty: $HYBRID_DBUS_ADDRESS, else the system bus
  std::string adapter;       // "hci0" or a path; empty: the first BlueZ lists
  std::chrono::milliseconds call_timeout{3000};
  // Also try Adapter1.SetDiscoveryFilter + StartDiscovery (then StopDiscovery), and
  // LEAdvertisingManager1.RegisterAdvertisement of an object we do not export (BlueZ
  // cannot read it, so nothing goes on the air; the bus policy is checked all the same).
  bool try_methods = true;
};

// A D-Bus error reply.
struct ProbeError {
  std::string name;     // "org.freedesktop.DBus.Error.AccessDenied"
  std::string message;  // as the bus or BlueZ sent it
};

struct ProbedAdapter {
  std::string name;  // "hci0"
  bool powered = false;
  std::optional<std::string> power_state;  // "on", "off", "off-blocked", … (often absent)
  bool can_advertise = false;              // LEAdvertisingManager1 present
  bool rfkill_blocked_sysfs = false;       // /sys/class/bluetooth/<name>/rfkill* (system bus only)
};

// The outcome of one method call; `tried` is false when an earlier fact made it pointless.
struct ProbedCall {
  bool tried = false;
  std::optional<ProbeError> error;  // nullopt and tried: it succeeded
};

struct BluezProbe {
  std::string bus_text;                   // "the system D-Bus" / "the D-Bus at …"
  bool system_bus = false;                // the machine's own bus (rfkill in sysfs applies)
  std::optional<std::string> bus_error;   // could not connect: why
  bool bluez_running = false;             // org.bluez has an owner
  std::optional<ProbeError> objects_error;  // GetManagedObjects failed
  std::vector<ProbedAdapter> adapters;    // sorted by name
  std::string wanted_adapter;             // as asked ("" = first)
  std::optional<size_t> chosen;           // index into adapters
  ProbedCall discovery_filter;            // Adapter1.SetDiscoveryFilter
  ProbedCall start_discovery;             // Adapter1.StartDiscovery
  ProbedCall register_advertisement;      // LEAdvertisingManager1.RegisterAdvertisement
};

// Never fails as a whole: every problem is a fact in the result. Every call is bounded by
// `call_timeout`.
BluezProbe probe_bluez(const BluezProbeOptions& options);

}  // namespace hybrid::ble
