#include "ble/bluez_probe.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ble/bluez_errors.h"
#include "ble/bluez_names.h"
#include "ble/bluez_objects.h"
#include "ble/bluez_radio.h"
#include "ble/sdbus.h"
#include "ble/rfkill.h"

namespace hybrid::ble {
namespace {

// Calls and waits; a broken connection is reported as an error reply of our own naming.
ProbedCall run(sd_bus* bus, sdbus::MessagePtr msg, std::chrono::milliseconds timeout, sdbus::MessagePtr* reply_out) {
  ProbedCall out;
  out.tried = true;
  auto r = sdbus::call(bus, msg.get(), timeout);
  if (!r) {
    out.error = ProbeError{"org.freedesktop.DBus.Error.Disconnected", r.error().message};
  } else if (!r->has_value()) {
    out.error = ProbeError{"org.freedesktop.DBus.Error.NoReply", "abandoned"};
  } else if ((*r)->error) {
    out.error = ProbeError{(*r)->error->name, (*r)->error->message};
  } else if (reply_out) {
    *reply_out = std::move((*r)->message);
  }
  return out;
}

}  // namespace

BluezProbe probe_bluez(const BluezProbeOptions& o) {
  BluezProbe p;
  std::string address = o.dbus_address;
  if (address.empty()) {
    if (const char* env = std::getenv(kDbusAddressEnv); env && *env) address = env;
  }
  p.bus_text = sdbus::describe_bus(address);
  p.system_bus = address.empty() && std::getenv("DBUS_SYSTEM_BUS_ADDRESS") == nullptr;
  p.wanted_adapter = o.adapter.empty() ? "" : adapter_name(o.adapter);

  auto bus = sdbus::open_bus(address);
  if (!bus) {
    p.bus_error = bus.error().message;
    return p;
  }
  sd_bus* b = bus->get();

  {
    auto m = sdbus::new_method_call(b, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                    "NameHasOwner");
    sd_bus_message_append(m.get(), "s", kBluez);
    sdbus::MessagePtr reply;
    auto c = run(b, std::move(m), o.call_timeout, &reply);
    if (c.error) {
      p.bus_error = "the bus did not answer NameHasOwner: " + c.error->name + " " + c.error->message;
      return p;
    }
    int has = 0;
    if (sd_bus_message_read(reply.get(), "b", &has) < 0) has = 0;
    p.bluez_running = has != 0;
  }
  if (!p.bluez_running) return p;

  {
    auto m = sdbus::new_method_call(b, kBluez, "/", kObjectManagerIface, "GetManagedObjects");
    sdbus::MessagePtr reply;
    auto c = run(b, std::move(m), o.call_timeout, &reply);
    if (c.error) {
      p.objects_error = c.error;
      return p;
    }
    ManagedObjects objects = parse_managed_objects(reply.get());
    for (const auto& a : objects.adapters) {
      ProbedAdapter pa;
      pa.name = adapter_name(a.path);
      pa.powered = a.powered;
      pa.power_state = a.power_state;
      pa.can_advertise = a.can_advertise;
      if (p.system_bus) pa.rfkill_blocked_sysfs = sysfs_rfkill_blocked(pa.name);
      p.adapters.push_back(std::move(pa));
    }
  }
  std::sort(p.adapters.begin(), p.adapters.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  for (size_t i = 0; i < p.adapters.size(); ++i) {
    if (p.wanted_adapter.empty() || p.adapters[i].name == p.wanted_adapter) {
      p.chosen = i;
      break;
    }
  }
  if (!p.chosen || !o.try_methods) return p;

  // The policy questions are answered by the bus before BlueZ sees the call, so they are
  // asked even when the adapter is off (BlueZ then answers NotReady: the policy allowed it).
  std::string path = "/org/bluez/" + p.adapters[*p.chosen].name;
  {
    auto m = sdbus::new_method_call(b, kBluez, path.c_str(), kAdapterIface, "SetDiscoveryFilter");
    sd_bus_message_append(m.get(), "a{sv}", 2, "Transport", "s", "le", "DuplicateData", "b", 1);
    p.discovery_filter = run(b, std::move(m), o.call_timeout, nullptr);
  }
  {
    auto m = sdbus::new_method_call(b, kBluez, path.c_str(), kAdapterIface, "StartDiscovery");
    p.start_discovery = run(b, std::move(m), o.call_timeout, nullptr);
    if (!p.start_discovery.error) {
      auto stop = sdbus::new_method_call(b, kBluez, path.c_str(), kAdapterIface, "StopDiscovery");
      (void)run(b, std::move(stop), o.call_timeout, nullptr);
    }
  }
  {
    // An object path we never export: BlueZ's GetAll on it fails, so nothing is advertised.
    auto m = sdbus::new_method_call(b, kBluez, path.c_str(), kAdvManagerIface, "RegisterAdvertisement");
    sd_bus_message_append(m.get(), "oa{sv}", "/org/hybrid/doctor/no_such_advertisement", 0);
    p.register_advertisement = run(b, std::move(m), o.call_timeout, nullptr);
    if (!p.register_advertisement.error) {  // a BlueZ that accepted it anyway: take it back
      auto un = sdbus::new_method_call(b, kBluez, path.c_str(), kAdvManagerIface, "UnregisterAdvertisement");
      sd_bus_message_append(un.get(), "o", "/org/hybrid/doctor/no_such_advertisement");
      (void)run(b, std::move(un), o.call_timeout, nullptr);
    }
  }
  return p;
}

}  // namespace hybrid::ble
