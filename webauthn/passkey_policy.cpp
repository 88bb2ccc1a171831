#include "webauthn/passkey_policy.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

#include "base/atomic_file.h"

namespace hybrid::webauthn {
namespace {

using json = nlohmann::json;

Error refuse(Rule rule, std::string message, const PasskeyProfile& profile) {
  if (!profile.advice.empty()) message += "; " + profile.advice;
  return Error{rule, std::move(message)};
}

std::string kind_plural(ctap::PasskeyKind kind) {
  return kind == ctap::PasskeyKind::synced ? "synced passkeys" : "device-bound passkeys";
}

Status check_keys(const json& j, std::initializer_list<const char*> allowed, std::string_view where) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = it.key();
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      return make_error(fmt::format("{}: unknown member \"{}\" (allowed: {})", where, key, list));
    }
  }
  return {};
}

Result<std::vector<std::string>> string_list(const json& j, const char* name, std::string_view where) {
  std::vector<std::string> out;
  if (!j.contains(name)) return out;
  if (!j[name].is_array()) return make_error(fmt::format("{}: \"{}\" must be an array of strings", where, name));
  for (const auto& s : j[name]) {
    if (!s.is_string()) return make_error(fmt::format("{}: \"{}\" must be an array of strings", where, name));
    out.push_back(s.get<std::string>());
  }
  return out;
}

Result<PasskeyProfile> profile_from_json(const json& j, size_t index) {
  std::string where = fmt::format("profiles[{}]", index);
  if (!j.is_object()) return make_error(where + " must be an object");
  HYBRID_TRY_STATUS(check_keys(j, {"name", "description", "target_groups", "passkey_types", "enforce_attestation",
                                   "key_restrictions", "user_verification", "advice"},
                               where));
  PasskeyProfile p;
  if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty()) {
    return make_error(where + " needs a \"name\"");
  }
  p.name = j["name"].get<std::string>();
  where = fmt::format("profile '{}'", p.name);
  if (j.contains("description")) {
    if (!j["description"].is_string()) return make_error(where + ": \"description\" must be a string");
    p.description = j["description"].get<std::string>();
  }
  if (j.contains("advice")) {
    if (!j["advice"].is_string()) return make_error(where + ": \"advice\" must be a string");
    p.advice = j["advice"].get<std::string>();
  }
  HYBRID_TRY(p.target_groups, string_list(j, "target_groups", where));
  if (j.contains("passkey_types")) {
    HYBRID_TRY(auto types, string_list(j, "passkey_types", where));
    if (types.empty()) return make_error(where + ": \"passkey_types\" must name device-bound, synced or both");
    p.allow_device_bound = p.allow_synced = false;
    for (const auto& t : types) {
      if (t == "device-bound") {
        p.allow_device_bound = true;
      } else if (t == "synced") {
        p.allow_synced = true;
      } else {
        return make_error(fmt::format("{}: unknown passkey type \"{}\" (use \"device-bound\" or \"synced\")", where, t));
      }
    }
  }
  if (j.contains("enforce_attestation")) {
    if (!j["enforce_attestation"].is_boolean()) return make_error(where + ": \"enforce_attestation\" must be true or false");
    p.enforce_attestation = j["enforce_attestation"].get<bool>();
  }
  if (p.enforce_attestation && !p.allow_device_bound) {
    return make_error(where + ": enforcing attestation admits only device-bound passkeys, but the profile allows "
                              "only synced ones, so nobody could register");
  }
  if (j.contains("key_restrictions")) {
    const json& k = j["key_restrictions"];
    if (!k.is_object()) return make_error(where + ": \"key_restrictions\" must be an object");
    HYBRID_TRY_STATUS(check_keys(k, {"enforcement", "aaguids"}, where + " key_restrictions"));
    if (!k.contains("enforcement") || !k["enforcement"].is_string()) {
      return make_error(where + ": key_restrictions needs \"enforcement\": \"allow\", \"block\" or \"off\"");
    }
    const std::string mode = k["enforcement"].get<std::string>();
    if (mode == "allow") {
      p.key_restriction = KeyRestriction::allow;
    } else if (mode == "block") {
      p.key_restriction = KeyRestriction::block;
    } else if (mode == "off") {
      p.key_restriction = KeyRestriction::off;
    } else {
      return make_error(fmt::format("{}: key_restrictions enforcement \"{}\" is not allow, block or off", where, mode));
    }
    HYBRID_TRY(auto list, string_list(k, "aaguids", where + " key_restrictions"));
    for (const auto& s : list) {
      auto a = ctap::aaguid_from_string(s);
      if (!a.ok()) return make_error(where + ": " + a.error().message);
      p.aaguids.push_back(*a);
    }
    if (p.key_restriction == KeyRestriction::allow && p.aaguids.empty()) {
      return make_error(where + ": an allow list with no AAGUIDs would refuse every passkey");
    }
  }
  if (j.contains("user_verification")) {
    if (!j["user_verification"].is_string()) return make_error(where + ": \"user_verification\" must be a string");
    p.user_verification = j["user_verification"].get<std::string>();
    if (p.user_verification != "required" && p.user_verification != "preferred" &&
        p.user_verification != "discouraged") {
      return make_error(where + ": \"user_verification\" must be required, preferred or discouraged");
    }
  }
  return p;
}

// "Bitwarden (d548826e-…, unverified)": the name, the AAGUID, and whether attestation
// backs the claim.
std::string aaguid_claim(const ctap::Aaguid& aaguid, const PasskeyFacts& facts, const AaguidTable& table) {
  if (ctap::is_zero_aaguid(aaguid)) return "an authenticator without AAGUID";
  auto info = table.lookup(aaguid);
  return fmt::format("{} ({}{})", info ? info->name : "an unknown authenticator", ctap::aaguid_to_string(aaguid),
                     facts.attestation_trusted ? "" : ", unverified");
}

Status check_common(const PasskeyProfile& p, const PasskeyFacts& facts, const AaguidTable& table, bool at_sign_in) {
  // 1. Passkey types: applies to registration and to every sign-in.
  const bool allowed = facts.kind == ctap::PasskeyKind::synced ? p.allow_synced : p.allow_device_bound;
  if (!allowed) {
    return refuse(Rule::policy_passkey_types,
                  fmt::format("{} are not allowed by profile '{}'", kind_plural(facts.kind), p.name), p);
  }
  // 2. Attestation enforcement: only device-bound passkeys attested to a trusted root.
  if (p.enforce_attestation) {
    if (facts.kind == ctap::PasskeyKind::synced) {
      return refuse(Rule::policy_attestation,
                    fmt::format("profile '{}' enforces attestation, which admits only device-bound passkeys, and "
                                "this one is synced",
                                p.name),
                    p);
    }
    if (!facts.attestation_trusted) {
      std::string why;
      switch (facts.attestation) {
        case AttestationType::none: why = "it came without attestation"; break;
        case AttestationType::self: why = "it has only self attestation, which proves no model"; break;
        case AttestationType::basic: why = "its attestation does not chain to a trusted root"; break;
        case AttestationType::unsupported: why = "its attestation format is not one this site verifies"; break;
      }
      return refuse(Rule::policy_attestation,
                    fmt::format("profile '{}' requires an attested passkey{}: {}", p.name,
                                at_sign_in ? " (this one was registered unattested)" : "", why),
                    p);
    }
  }
  // 3. Key restrictions on the AAGUID (only a claim unless attested).
  const bool listed = std::find(p.aaguids.begin(), p.aaguids.end(), facts.aaguid) != p.aaguids.end();
  if (p.key_restriction == KeyRestriction::allow && !listed) {
    return refuse(Rule::policy_allowed_aaguids,
                  fmt::format("{} is not on the list of passkey providers allowed by profile '{}'",
                              aaguid_claim(facts.aaguid, facts, table), p.name),
                  p);
  }
  if (p.key_restriction == KeyRestriction::block && listed) {
    return refuse(Rule::policy_blocked_aaguids,
                  fmt::format("passkeys from {} are blocked by profile '{}'", aaguid_claim(facts.aaguid, facts, table),
                              p.name),
                  p);
  }
  return {};
}

}  // namespace

bool is_policy_rule(Rule rule) {
  switch (rule) {
    case Rule::policy_passkey_types:
    case Rule::policy_attestation:
    case Rule::policy_allowed_aaguids:
    case Rule::policy_blocked_aaguids: return true;
    default: return false;
  }
}

std::string_view rule_name(Rule rule) {
  switch (rule) {
    case Rule::malformed: return "malformed";
    case Rule::ceremony_type: return "ceremony_type";
    case Rule::challenge: return "challenge";
    case Rule::origin: return "origin";
    case Rule::cross_origin: return "cross_origin";
    case Rule::rp_id: return "rp_id";
    case Rule::user_presence: return "user_presence";
    case Rule::user_verification: return "user_verification";
    case Rule::attestation: return "attestation";
    case Rule::algorithm: return "algorithm";
    case Rule::credential_unknown: return "credential_unknown";
    case Rule::credential_exists: return "credential_exists";
    case Rule::user_handle: return "user_handle";
    case Rule::signature: return "signature";
    case Rule::sign_count: return "sign_count";
    case Rule::backup_flags: return "backup_flags";
    case Rule::policy_passkey_types: return "passkey_types";
    case Rule::policy_attestation: return "enforce_attestation";
    case Rule::policy_allowed_aaguids: return "key_restrictions.allow";
    case Rule::policy_blocked_aaguids: return "key_restrictions.block";
  }
  return "unknown";
}

PasskeyPolicy PasskeyPolicy::allow_all() {
  PasskeyPolicy p;
  PasskeyProfile d;
  d.name = "default";
  d.description = "Both passkey types, no attestation, no key restrictions";
  d.user_verification = "preferred";
  p.profiles.push_back(d);
  p.default_profile = "default";
  return p;
}

Result<PasskeyPolicy> PasskeyPolicy::parse(const nlohmann::json& j, const std::string& base_dir) {
  if (!j.is_object()) return make_error("a passkey policy must be a JSON object");
  HYBRID_TRY_STATUS(check_keys(j, {"$schema", "version", "description", "default_profile", "attestation_roots",
                                   "groups", "profiles"},
                               "policy"));
  PasskeyPolicy policy;
  if (j.contains("version") && j["version"] != 1) return make_error("policy \"version\" must be 1");
  if (!j.contains("profiles") || !j["profiles"].is_array() || j["profiles"].empty()) {
    return make_error("a policy needs a non-empty \"profiles\" array");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < j["profiles"].size(); ++i) {
    HYBRID_TRY(PasskeyProfile p, profile_from_json(j["profiles"][i], i));
    if (!names.insert(p.name).second) return make_error(fmt::format("two profiles are named '{}'", p.name));
    policy.profiles.push_back(std::move(p));
  }
  if (j.contains("default_profile")) {
    if (!j["default_profile"].is_string()) return make_error("\"default_profile\" must be a profile name");
    policy.default_profile = j["default_profile"].get<std::string>();
    if (!names.count(policy.default_profile)) {
      return make_error(fmt::format("\"default_profile\" names '{}', which is not a profile", policy.default_profile));
    }
  } else {
    policy.default_profile = policy.profiles.front().name;
  }
  if (j.contains("groups")) {
    if (!j["groups"].is_object()) return make_error("\"groups\" must map group names to arrays of user names");
    for (const auto& [group, members] : j["groups"].items()) {
      if (!members.is_array()) return make_error(fmt::format("group '{}' must be an array of user names", group));
      for (const auto& m : members) {
        if (!m.is_string()) return make_error(fmt::format("group '{}' must be an array of user names", group));
        policy.groups[group].push_back(m.get<std::string>());
      }
    }
  }
  HYBRID_TRY(auto roots, string_list(j, "attestation_roots", "policy"));
  for (const auto& r : roots) {
    std::string pem = r;
    if (r.find("-----BEGIN") == std::string::npos) {
      const std::string path = (!r.empty() && r[0] == '/') ? r : base_dir + "/" + r;
      auto bytes = read_file(path);
      if (!bytes.ok()) return make_error("attestation root: " + bytes.error().message);
      pem = to_string(*bytes);
    }
    auto certs = ctap::Certificate::all_from_pem(pem);
    if (!certs.ok()) return make_error(fmt::format("attestation root '{}': {}", r.substr(0, 40), certs.error().message));
    for (auto& c : *certs) policy.attestation_roots.push_back(std::move(c));
  }
  return policy;
}

Result<PasskeyPolicy> PasskeyPolicy::load(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes.ok()) return bytes.error();
  auto j = json::parse(to_string(*bytes), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(fmt::format("{} is not valid JSON", path));
  auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  auto policy = parse(j, dir);
  if (!policy.ok()) return policy.error().with_context(path);
  return policy;
}

nlohmann::json PasskeyPolicy::to_json() const {
  json j;
  j["version"] = version;
  j["default_profile"] = default_profile;
  if (!groups.empty()) j["groups"] = groups;
  json roots = json::array();
  for (const auto& r : attestation_roots) roots.push_back(r.pem());
  if (!roots.empty()) j["attestation_roots"] = roots;
  j["profiles"] = json::array();
  for (const auto& p : profiles) {
    json pj;
    pj["name"] = p.name;
    if (!p.description.empty()) pj["description"] = p.description;
    pj["target_groups"] = p.target_groups;
    json types = json::array();
    if (p.allow_device_bound) types.push_back("device-bound");
    if (p.allow_synced) types.push_back("synced");
    pj["passkey_types"] = types;
    pj["enforce_attestation"] = p.enforce_attestation;
    if (p.key_restriction != KeyRestriction::off) {
      json list = json::array();
      for (const auto& a : p.aaguids) list.push_back(ctap::aaguid_to_string(a));
      pj["key_restrictions"] = {{"enforcement", p.key_restriction == KeyRestriction::allow ? "allow" : "block"},
                                {"aaguids", list}};
    }
    pj["user_verification"] = p.user_verification;
    if (!p.advice.empty()) pj["advice"] = p.advice;
    j["profiles"].push_back(pj);
  }
  return j;
}

std::vector<std::string> PasskeyPolicy::groups_of(std::string_view user) const {
  std::vector<std::string> out;
  for (const auto& [group, members] : groups)
    if (std::find(members.begin(), members.end(), user) != members.end()) out.push_back(group);
  return out;
}

const PasskeyProfile* PasskeyPolicy::find(std::string_view name) const {
  for (const auto& p : profiles)
    if (p.name == name) return &p;
  return nullptr;
}

const PasskeyProfile& PasskeyPolicy::profile_for(std::string_view user, const std::vector<std::string>& groups) const {
  std::vector<std::string> all = groups;
  for (auto& g : groups_of(user)) all.push_back(std::move(g));
  for (const auto& p : profiles) {
    for (const auto& target : p.target_groups) {
      if (std::find(all.begin(), all.end(), target) != all.end()) return p;
    }
  }
  if (const PasskeyProfile* d = find(default_profile)) return *d;
  return profiles.front();
}

Status check_registration(const PasskeyProfile& profile, const PasskeyFacts& facts, const AaguidTable& table) {
  return check_common(profile, facts, table, /*at_sign_in=*/false);
}

Status check_sign_in(const PasskeyProfile& profile, const PasskeyFacts& facts, const AaguidTable& table) {
  return check_common(profile, facts, table, /*at_sign_in=*/true);
}

}  // namespace hybrid::webauthn
