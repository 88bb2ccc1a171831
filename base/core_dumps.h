// Keeping secrets out of core dumps: processes that hold QR secrets, Noise keys, link
// secrets or PRF outputs (the client, the phone, the kiosk, the bridge) call this first.
#pragma once

#include "base/result.h"

namespace hybrid {

// Sets RLIMIT_CORE to 0 (soft and hard, so a child cannot raise it again) and marks the
// process not dumpable (prctl PR_SET_DUMPABLE 0: no core file, and other processes of the
// same user cannot ptrace it or read its memory through /proc). An error names what the
// OS refused; callers log it and go on (the secrets are still wiped after use).
Status keep_secrets_out_of_core_dumps();

}  // namespace hybrid
