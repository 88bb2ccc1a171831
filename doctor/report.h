// Runs every check of `hybrid doctor` over an Environment, and renders the verdicts for a
// person (text) or a script (JSON).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "doctor/check.h"
#include "doctor/environment.h"

namespace hybrid::doctor {

struct Selection {
  bool bluetooth = true;
  bool uhid = true;
  bool tunnel = true;  // and the clock, which reads the tunnel's Date header
  bool stores = true;
};

std::vector<CheckResult> run_checks(Environment& env, const Selection& what = {});

// The worst status among the results (skipped counts as ok: its cause failed elsewhere).
CheckStatus worst(const std::vector<CheckResult>& results);

// {"status": worst, "checks": [{"name","status","detail","fix"}…]}
nlohmann::json to_json(const std::vector<CheckResult>& results);
// One block per check: "[ok]   bluez: …" with "       fix: …" under problems.
std::string to_text(const std::vector<CheckResult>& results);

// The fast subset that must hold before a QR code is shown (D-Bus, BlueZ, adapter,
// powered): the first failure, or nullopt.
std::optional<CheckResult> bluetooth_preflight(Environment& env, bool power_on);

}  // namespace hybrid::doctor
