// The kiosk's built-in passkey policy: demo/kiosk-policy.json, compiled in, used when
// `hybrid kiosk` gets no --policy and by `hybrid demo`.
#pragma once

#include <string_view>

#include "webauthn/passkey_policy.h"

namespace hybrid::demo {

std::string_view default_policy_json();
// Parsed.
Result<webauthn::PasskeyPolicy> default_policy();

}  // namespace hybrid::demo
