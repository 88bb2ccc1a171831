// Turns BlueZ's and the bus's D-Bus error replies into RadioErrors with messages a person
// can act on. Pure functions (no D-Bus), so that every mapping is unit-tested.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "ble/radio.h"

namespace hybrid::ble {

// Where a failing call went: "Adapter1.StartDiscovery" on adapter "hci0" over `bus`
// ("the system D-Bus" / "the D-Bus at unix:path=…").
struct BluezCall {
  std::string_view method;
  std::string_view adapter;
  std::string_view bus;
};

// Maps an error reply (name as in org.bluez.Error.NotReady, message as BlueZ sent it).
Error map_bluez_error(const BluezCall& call, std::string_view error_name, std::string_view error_message);

// The messages used for conditions found without an error reply.
Error bluez_not_running_error(std::string_view bus);
Error powered_off_error(std::string_view adapter);
Error rfkill_blocked_error(std::string_view adapter);
Error no_adapter_error(std::string_view wanted, std::string_view available);

// "hci0" from "/org/bluez/hci0"; other strings unchanged.
std::string adapter_name(std::string_view adapter_path);

}  // namespace hybrid::ble
