// The project's relying party (webauthn/verifier.h) as a line-oriented driver for the real
// Chromium test: one JSON request per line on stdin, one JSON answer per line on stdout.
//   {"op":"config","rp_id":"localhost","origin":"http://localhost:PORT","policy":{…}}
//   {"op":"begin_register","user":"alice","groups":["admins"]}  → creation options JSON
//   {"op":"finish_register","user":"alice","credential":{…},"check_profile":"admins"?}
//       → {"ok":true,"credential":{…},"profile_check":{"ok":…,"error"?}} or a refusal
//   {"op":"begin_auth","user":"alice"}                          → request options JSON
//   {"op":"finish_auth","credential":{…}}                       → {"ok":true,"user":…}
// "check_profile" judges the registered credential's facts (kind, attestation, AAGUID)
// under another profile of the policy, as a stricter relying party would.
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/primitives.h"
#include "webauthn/verifier.h"
#include "tests/support/json_line_driver.h"

using namespace hybrid;
using namespace hybrid::ctap;
using namespace hybrid::webauthn;
using nlohmann::json;

namespace {

struct Session {
  std::unique_ptr<RelyingParty> rp;
  std::map<std::string, UserAccount> users;
  std::map<Bytes, std::pair<RegisteredCredential, UserAccount>> registered;

  UserAccount& user(const json& req) {
    std::string name = req.at("user").get<std::string>();
    auto it = users.find(name);
    if (it == users.end()) {
      std::vector<std::string> groups = req.value("groups", std::vector<std::string>{});
      it = users.emplace(name, UserAccount{name, name, crypto::random_bytes(16), groups}).first;
    }
    return it->second;
  }
};

json refusal(const Error& e) {
  auto rule = rule_of(e);
  return json{{"ok", false}, {"rule", rule ? std::string(rule_name(*rule)) : "unknown"}, {"error", e.message}};
}

json handle(Session& s, const json& req) {
  const std::string op = req.at("op").get<std::string>();
  if (op == "config") {
    auto policy = PasskeyPolicy::parse(req.at("policy"));
    if (!policy.ok()) return refusal(policy.error());
    RelyingPartyConfig config;
    config.rp_id = req.at("rp_id").get<std::string>();
    config.rp_name = "Chromium hybrid test";
    config.origins = {req.at("origin").get<std::string>()};
    s.rp = std::make_unique<RelyingParty>(config, *policy);
    return json{{"ok", true}};
  }
  if (!s.rp) return json{{"ok", false}, {"error", "send {\"op\":\"config\"} first"}};
  if (op == "begin_register") return s.rp->begin_registration(s.user(req));
  if (op == "finish_register") {
    const UserAccount& user = s.user(req);
    auto reg = s.rp->finish_registration(req.at("credential"), user, [&](ByteView id) {
      return s.registered.count(Bytes(id.begin(), id.end())) > 0;
    });
    if (!reg.ok()) return refusal(reg.error());
    s.registered[reg->id] = {*reg, user};
    json out{{"ok", true}, {"credential", reg->to_json()}};
    if (req.contains("check_profile")) {
      const PasskeyProfile* profile = s.rp->policy().find(req["check_profile"].get<std::string>());
      if (!profile) return json{{"ok", false}, {"error", "no such profile"}};
      Status st = check_registration(*profile, reg->facts());
      out["profile_check"] = st.ok() ? json{{"ok", true}} : refusal(st.error());
    }
    return out;
  }
  if (op == "begin_auth") {
    const UserAccount& user = s.user(req);
    std::vector<RegisteredCredential> creds;
    for (const auto& [id, entry] : s.registered) {
      if (entry.second.name == user.name) creds.push_back(entry.first);
    }
    return s.rp->begin_authentication(user, creds);
  }
  if (op == "finish_auth") {
    auto out = s.rp->finish_authentication(req.at("credential"), [&](ByteView id) {
      auto it = s.registered.find(Bytes(id.begin(), id.end()));
      return it == s.registered.end() ? std::nullopt
                                      : std::optional<std::pair<RegisteredCredential, UserAccount>>(it->second);
    });
    if (!out.ok()) return refusal(out.error());
    s.registered[out->credential.id].first = out->credential;
    return json{{"ok", true}, {"user", out->user.name}, {"profile", out->profile},
                {"user_verified", out->user_verified}};
  }
  return json{{"ok", false}, {"error", "unknown op " + op}};
}

}  // namespace

int main() {
  Session session;
  return test::run_json_line_driver([&](const json& request) { return handle(session, request); });
}
