// The CLI's exit codes are defined once, in base/exit_code.h (the bridge and the roles map
// onto them too); this header makes them visible to app/ as before.
#pragma once

#include "base/exit_code.h"

namespace hybrid::app {
using hybrid::ExitCode;
using enum hybrid::ExitCode;  // hybrid::app::kUsage and friends, as before
using hybrid::exit_code_help;
}  // namespace hybrid::app
