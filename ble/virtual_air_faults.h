// The virtual air's fault injection, without D-Bus: the `--fail METHOD=ERROR` knobs
// (VirtualAirOptions::method_errors) as a table that says which method call is answered
// with which error before it reaches its handler. The other knobs (no adapter, powered off,
// rfkill) are states of the simulated adapter (ble/virtual_air_model.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ble/dbus_error.h"

namespace hybrid::ble {

class FaultTable {
 public:
  // Method name ("StartDiscovery" or "Adapter1.StartDiscovery") → error name, optionally
  // with ":message" ("org.bluez.Error.Failed:custom message").
  explicit FaultTable(std::map<std::string, std::string> method_errors);

  bool empty() const { return method_errors_.empty(); }
  // The error to answer a call of `member` on `interface` (full name, "org.bluez.Adapter1",
  // or "" when the call names none) with: a knob for the bare member wins over one for
  // "Adapter1.member". Without a message in the knob, BlueZ's own message for that error.
  std::optional<DbusError> error_for(std::string_view interface, std::string_view member) const;

 private:
  std::map<std::string, std::string> method_errors_;
};

}  // namespace hybrid::ble
