// The kernel's rfkill state for a local Bluetooth adapter, read from sysfs (only meaningful
// for adapters of the real system bus, not the virtual air). Used by the BlueZ radio and
// by hybrid doctor's probe.
#pragma once

#include <string>

namespace hybrid::ble {

// True when /sys/class/bluetooth/<adapter>/rfkill*/{soft,hard} says the adapter is blocked.
bool sysfs_rfkill_blocked(const std::string& adapter);

}  // namespace hybrid::ble
