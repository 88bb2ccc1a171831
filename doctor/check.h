// One verdict of `hybrid doctor`: what was checked, how it went, what was found and what
// to do about it.
#pragma once

#include <string>
#include <string_view>

namespace hybrid::doctor {

enum class CheckStatus {
  ok,       // nothing to do
  warn,     // works, but something is off (a script may go on)
  fail,     // this will stop sign-in, registration, the phone or the bridge
  skipped,  // not run because a check it depends on failed (that one has the fix)
};

std::string_view status_name(CheckStatus s);  // "ok", "warn", "fail", "skipped"

struct CheckResult {
  std::string name;    // stable id: "bluez", "adapter", "tunnel", …
  CheckStatus status = CheckStatus::ok;
  std::string detail;  // what was found
  std::string fix;     // what to do; empty when status is ok
};

}  // namespace hybrid::doctor
