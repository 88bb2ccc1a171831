// A D-Bus error reply as a value, without D-Bus: what BlueZ answers ("org.bluez.Error.NotReady",
// "Resource Not Ready") and what the virtual air's model and knobs decide to answer.
#pragma once

#include <string>

namespace hybrid::ble {

struct DbusError {
  std::string name;
  std::string message;
  std::string text() const { return message.empty() ? name : name + " (" + message + ")"; }
};

}  // namespace hybrid::ble
