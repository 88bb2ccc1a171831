#include "ble/bluez_objects.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace hybrid::ble {

std::string address_from_path(const std::string& path) {
  auto pos = path.rfind("/dev_");
  if (pos == std::string::npos) return "";
  std::string a = path.substr(pos + 5);
  std::replace(a.begin(), a.end(), '_', ':');
  return a;
}

namespace {

// Stores a property value that was read; false (the caller skips the value) when it had
// another type.
template <class T, class U>
bool take(T& target, std::optional<U> value) {
  if (!value) return false;
  target = std::move(*value);
  return true;
}

}  // namespace

void read_device_props(sd_bus_message* m, DeviceInfo& dev, std::optional<sdbus::ServiceDataMap>& sd) {
  sdbus::read_dict(m, [&](std::string_view key, sd_bus_message* mm) {
    if (key == "Address") return take(dev.address, sdbus::read_variant_string(mm));
    if (key == "RSSI") return take(dev.rssi, sdbus::read_variant_int16(mm));
    if (key == "ServiceData") return take(sd, sdbus::read_variant_service_data(mm));
    return false;
  });
}

void read_adapter_props(sd_bus_message* m, AdapterInfo& a) {
  sdbus::read_dict(m, [&](std::string_view key, sd_bus_message* mm) {
    if (key == "Powered") return take(a.powered, sdbus::read_variant_bool(mm));
    if (key == "PowerState") return take(a.power_state, sdbus::read_variant_string(mm));
    return false;
  });
}

ManagedObjects parse_managed_objects(sd_bus_message* m) {
  ManagedObjects out;
  if (sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}") <= 0) return out;
  while (sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}") > 0) {
    const char* path = nullptr;
    if (sd_bus_message_read_basic(m, 'o', &path) < 0) break;
    AdapterInfo adapter{path};
    bool is_adapter = false;
    DeviceInfo dev;
    bool is_device = false;
    if (sd_bus_message_enter_container(m, 'a', "{sa{sv}}") <= 0) break;
    while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
      const char* iface = nullptr;
      sd_bus_message_read_basic(m, 's', &iface);
      std::string_view i = iface ? iface : "";
      if (i == kAdapterIface) {
        is_adapter = true;
        read_adapter_props(m, adapter);
      } else if (i == kDeviceIface) {
        is_device = true;
        std::optional<sdbus::ServiceDataMap> ignored;  // cached adverts are not reported
        read_device_props(m, dev, ignored);
      } else {
        if (i == kAdvManagerIface) adapter.can_advertise = true;
        sd_bus_message_skip(m, "a{sv}");
      }
      sd_bus_message_exit_container(m);
    }
    sd_bus_message_exit_container(m);
    sd_bus_message_exit_container(m);
    if (is_adapter) out.adapters.push_back(adapter);
    if (is_device) {
      if (dev.address.empty()) dev.address = address_from_path(path);
      out.devices[path] = dev;
    }
  }
  sd_bus_message_exit_container(m);
  std::sort(out.adapters.begin(), out.adapters.end(),
            [](const AdapterInfo& a, const AdapterInfo& b) { return a.path < b.path; });
  return out;
}

}  // namespace hybrid::ble
