#include "demo/default_policy.h"

#include <nlohmann/json.hpp>

namespace hybrid::demo {

Result<webauthn::PasskeyPolicy> default_policy() {
  auto j = nlohmann::json::parse(default_policy_json(), nullptr, false);
  if (j.is_discarded()) return make_error("the built-in kiosk policy is not valid JSON");
  auto p = webauthn::PasskeyPolicy::parse(j, ".");
  if (!p.ok()) return p.error().with_context("the built-in kiosk policy");
  return p;
}

}  // namespace hybrid::demo
