// The checks of `hybrid doctor` as pure functions over facts (facts.h): each returns a
// verdict with what to do. No I/O here, so every failing configuration is unit-tested.
#pragma once

#include <vector>

#include "doctor/check.h"
#include "doctor/facts.h"

namespace hybrid::doctor {

// Bluetooth, in dependency order: dbus, bluez, adapter, powered, rfkill,
// discovery-policy, advertising-policy. A check whose prerequisite failed is `skipped`.
std::vector<CheckResult> check_bluetooth(const ble::BluezProbe& probe, const RfkillFacts& rfkill);
// Only dbus, bluez, adapter, powered (and rfkill when the adapter is off): what must hold
// before a QR code is worth showing. `power_on`: a powered-off adapter is fine (the
// command turns it on), a blocked one is not.
std::vector<CheckResult> check_bluetooth_fast(const ble::BluezProbe& probe, const RfkillFacts& rfkill, bool power_on);

CheckResult check_uhid(const UhidFacts& uhid);
CheckResult check_tunnel(const TunnelFacts& tunnel);
// Clock skew against the tunnel's Date header: ok within 60 s, warn beyond, fail beyond a
// day (certificates then look expired or not yet valid). Skipped without a Date.
CheckResult check_clock(const TunnelFacts& tunnel);
CheckResult check_store(const PathFacts& path);

// Seconds this machine is ahead of the server (negative: behind).
inline constexpr long kClockWarnSeconds = 60;
inline constexpr long kClockFailSeconds = 24 * 3600;

}  // namespace hybrid::doctor
