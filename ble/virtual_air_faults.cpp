#include "ble/virtual_air_faults.h"

#include <utility>

#include "ble/virtual_air.h"

namespace hybrid::ble {

namespace {

// BlueZ's messages for its errors (src/error.c), used when a knob gives none.
std::string default_message(const std::string& name) {
  static const std::map<std::string, std::string> m = {
      {"org.bluez.Error.NotReady", "Resource Not Ready"},
      {"org.bluez.Error.InProgress", "Operation already in progress"},
      {"org.bluez.Error.Failed", "Operation failed"},
      {"org.bluez.Error.NotAuthorized", "Operation Not Authorized"},
      {"org.bluez.Error.NotPermitted", "Operation Not Permitted"},
      {"org.bluez.Error.Blocked", "Blocked through rfkill"},
      {"org.bluez.Error.InvalidArguments", "Invalid arguments in method call"},
      {"org.bluez.Error.AlreadyExists", "Already Exists"},
      {"org.bluez.Error.DoesNotExist", "Does Not Exist"},
      {"org.bluez.Error.NotSupported", "Operation is not supported"},
      {"org.freedesktop.DBus.Error.AccessDenied", "Rejected send message (virtual air knob)"},
  };
  auto it = m.find(name);
  return it == m.end() ? "virtual air: simulated failure" : it->second;
}

}  // namespace

Status add_method_error(VirtualAirOptions& options, const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 >= spec.size()) {
    return make_error("--fail wants METHOD=ERROR, e.g. StartDiscovery=org.bluez.Error.InProgress; got \"" + spec +
                      "\"");
  }
  std::string error = spec.substr(eq + 1);
  if (error.find('.') == std::string::npos) {
    return make_error("--fail: \"" + error + "\" is not a D-Bus error name (e.g. org.bluez.Error.NotReady)");
  }
  options.method_errors[spec.substr(0, eq)] = error;
  return {};
}

FaultTable::FaultTable(std::map<std::string, std::string> method_errors) : method_errors_(std::move(method_errors)) {}

std::optional<DbusError> FaultTable::error_for(std::string_view interface, std::string_view member) const {
  std::string short_iface(interface);
  if (auto dot = short_iface.rfind('.'); dot != std::string::npos) short_iface = short_iface.substr(dot + 1);
  auto it = method_errors_.find(std::string(member));
  if (it == method_errors_.end()) it = method_errors_.find(short_iface + "." + std::string(member));
  if (it == method_errors_.end()) return std::nullopt;
  DbusError e{it->second, ""};
  if (auto colon = e.name.find(':'); colon != std::string::npos) {
    e.message = e.name.substr(colon + 1);
    e.name = e.name.substr(0, colon);
  } else {
    e.message = default_message(e.name);
  }
  return e;
}

}  // namespace hybrid::ble
