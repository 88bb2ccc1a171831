// The JSON files the programs load and a person (or an attacker with write access to a
// config directory) may have edited: the passkey policy (`--policy`), the phone's
// credential store, and the kiosk's stored passkeys (RegisteredCredential JSON in the
// accounts database). The first byte picks the loader; the rest is the file. Anything
// must load or fail with an error value; whatever loads must survive its own round trip
// (abort() = a finding). The link store has its own target (roles_link_store_fuzzer).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ctap/credential_store.h"
#include "fuzz/invariant.h"
#include "webauthn/passkey_policy.h"
#include "webauthn/verifier.h"

using namespace hybrid::ctap;
using namespace hybrid::webauthn;
using nlohmann::json;
using hybrid::fuzz::violated;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto j = json::parse(text, nullptr, false);
      if (j.is_discarded()) return 0;
      // Root certificate paths resolve under a directory that does not exist: the target
      // must not read the fuzzing machine's files.
      auto policy = PasskeyPolicy::parse(j, "/nonexistent-hybrid-fuzz");
      if (!policy) return 0;
      auto again = PasskeyPolicy::parse(policy->to_json(), "/nonexistent-hybrid-fuzz");
      if (!again) violated("a policy that loaded does not load from its own to_json()");
      if (again->profiles.size() != policy->profiles.size() || again->default_profile != policy->default_profile) {
        violated("a policy changed in its JSON round trip");
      }
      for (const auto* user : {"alice", "", "admins"}) (void)policy->profile_for(user, {"admins", "staff"});
      break;
    }
    case 1: {
      auto store = CredentialStore::parse(text);
      if (!store) return 0;
      const std::string saved = store->serialize();
      auto again = CredentialStore::parse(saved);
      if (!again) violated("a credential store that loaded does not load from its own serialization");
      if (again->credentials().size() != store->credentials().size()) violated("credentials lost in a round trip");
      if (again->serialize() != saved) violated("a credential store's serialization is not stable");
      break;
    }
    case 2: {
      auto j = json::parse(text, nullptr, false);
      if (j.is_discarded()) return 0;
      auto c = RegisteredCredential::from_json(j);
      if (!c) return 0;
      auto again = RegisteredCredential::from_json(c->to_json());
      if (!again) violated("a stored passkey does not load from its own to_json()");
      if (again->to_json() != c->to_json()) violated("a stored passkey changed in its JSON round trip");
      (void)c->facts();
      break;
    }
  }
  return 0;
}
