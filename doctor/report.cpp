#include "doctor/report.h"

#include "doctor/checks.h"

namespace hybrid::doctor {

std::vector<CheckResult> run_checks(Environment& env, const Selection& what) {
  std::vector<CheckResult> out;
  if (what.bluetooth) {
    auto bt = check_bluetooth(env.bluetooth(true), env.rfkill());
    out.insert(out.end(), bt.begin(), bt.end());
  }
  if (what.uhid) out.push_back(check_uhid(env.uhid()));
  if (what.tunnel) {
    TunnelFacts t = env.tunnel();
    out.push_back(check_tunnel(t));
    out.push_back(check_clock(t));
  }
  if (what.stores) {
    for (const auto& p : env.stores()) out.push_back(check_store(p));
  }
  return out;
}

CheckStatus worst(const std::vector<CheckResult>& results) {
  CheckStatus w = CheckStatus::ok;
  for (const auto& r : results) {
    if (r.status == CheckStatus::fail) return CheckStatus::fail;
    if (r.status == CheckStatus::warn) w = CheckStatus::warn;
  }
  return w;
}

nlohmann::json to_json(const std::vector<CheckResult>& results) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& r : results) {
    checks.push_back({{"name", r.name}, {"status", std::string(status_name(r.status))}, {"detail", r.detail},
                      {"fix", r.fix}});
  }
  return {{"status", std::string(status_name(worst(results)))}, {"checks", checks}};
}

std::string to_text(const std::vector<CheckResult>& results) {
  std::string out;
  for (const auto& r : results) {
    std::string tag = "[" + std::string(status_name(r.status)) + "]";
    tag.resize(10, ' ');
    out += tag + r.name + ": " + r.detail + "\n";
    if (!r.fix.empty() && r.status != CheckStatus::ok) out += std::string(10, ' ') + "fix: " + r.fix + "\n";
  }
  return out;
}

std::optional<CheckResult> bluetooth_preflight(Environment& env, bool power_on) {
  for (auto& r : check_bluetooth_fast(env.bluetooth(false), env.rfkill(), power_on)) {
    if (r.status == CheckStatus::fail) return r;
  }
  return std::nullopt;
}

}  // namespace hybrid::doctor
