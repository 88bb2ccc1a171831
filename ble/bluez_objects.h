// BlueZ's objects as the radio reads them from ObjectManager.GetManagedObjects and from
// InterfacesAdded / PropertiesChanged (internal to ble/; the fuzzer drives these readers
// with arbitrary dictionaries). Unknown keys and values of unexpected types are skipped.
#pragma once

#include <systemd/sd-bus.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ble/bluez_names.h"
#include "ble/sdbus.h"

namespace hybrid::ble {

struct AdapterInfo {
  std::string path;
  bool powered = false;
  std::optional<std::string> power_state;  // experimental in BlueZ: often absent
  bool can_advertise = false;              // has LEAdvertisingManager1
};

struct DeviceInfo {
  std::string address;
  int16_t rssi = 0;
};

struct ManagedObjects {
  std::vector<AdapterInfo> adapters;
  std::map<std::string, DeviceInfo> devices;
};

// "AA:BB:CC:DD:EE:FF" from ".../dev_AA_BB_CC_DD_EE_FF"; "" for other paths.
std::string address_from_path(const std::string& path);
// Reads a Device1 a{sv}: Address and RSSI into `dev`, ServiceData (when present) into `sd`.
void read_device_props(sd_bus_message* m, DeviceInfo& dev, std::optional<sdbus::ServiceDataMap>& sd);
// Reads an Adapter1 a{sv}: Powered, PowerState.
void read_adapter_props(sd_bus_message* m, AdapterInfo& a);
// Parses a GetManagedObjects reply, a{oa{sa{sv}}}: adapters sorted by path, and devices
// (addresses and RSSI only: cached service data is deliberately not kept).
ManagedObjects parse_managed_objects(sd_bus_message* m);

}  // namespace hybrid::ble
