// The time as the passkey core reads it: from a clock a test injected, else from the system.
// One place, so that the authenticator and the relying party read it the same way.
#pragma once

#include <cstdint>
#include <functional>

namespace hybrid {

// A clock a test can inject (a reading per call); empty means the system's.
using InjectedClock = std::function<int64_t()>;

// Milliseconds on a monotonic clock with an arbitrary epoch (steady_clock): for lifetimes and
// timeouts. `injected`'s reading when it is set.
int64_t now_monotonic_ms(const InjectedClock& injected = {});
// Seconds since 1970-01-01 UTC on the wall clock (system_clock): for timestamps that are
// stored. `injected`'s reading when it is set.
int64_t now_unix_seconds(const InjectedClock& injected = {});

}  // namespace hybrid
