// Feeds arbitrary bytes to every CTAP request decoder and to the software authenticator's
// process() (command byte ‖ CBOR). Nothing may crash or throw; a decoded request must
// re-encode to something that decodes again; every answer starts with a status byte and,
// on success, carries canonical CBOR.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "base/log.h"
#include "cbor/codec.h"
#include "ctap/authenticator.h"
#include "ctap/get_assertion.h"
#include "ctap/make_credential.h"

using namespace hybrid;
using namespace hybrid::ctap;

namespace {

struct Phone {
  explicit Phone(PasskeyKind kind) : store(CredentialStore::in_memory()) {
    auto config = AuthenticatorConfig::for_kind(kind);
    authenticator = std::make_unique<SoftwareAuthenticator>(store, config, approver);
    // Two accounts for example.com so that getAssertion paths are reachable.
    for (uint8_t i = 1; i <= 2; ++i) {
      MakeCredentialRequest r;
      r.rp = RpEntity{"example.com", std::nullopt};
      r.user = UserEntity{Bytes{i}, "user", std::nullopt};
      r.pub_key_cred_params = {CredentialParameter{"public-key", -7}};
      if (!authenticator->make_credential(r).ok()) abort();
    }
  }
  // Keeps the store small over a long run.
  void trim() {
    while (store.credentials().size() > 8) {
      if (!store.remove(store.credentials().back().id).ok()) abort();
    }
  }
  CredentialStore store;
  AutoApprover approver;
  std::unique_ptr<SoftwareAuthenticator> authenticator;
};

template <class T>
void round_trip(ByteView data) {
  auto r = T::decode(data);
  if (!r.ok()) return;
  Bytes again = r->encode();
  if (!T::decode(again).ok()) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (log::set_threshold(log::Level::off), true);
  (void)quiet;
  static Phone synced(PasskeyKind::synced);
  static Phone bound(PasskeyKind::device_bound);
  ByteView in(data, size);

  // The decoders see the parameters after a command (or status) byte.
  ByteView params = size ? in.subspan(1) : in;
  round_trip<MakeCredentialRequest>(params);
  round_trip<GetAssertionRequest>(params);
  round_trip<MakeCredentialResponse>(params);
  round_trip<GetAssertionResponse>(params);
  round_trip<GetInfoResponse>(params);

  Phone& phone = (size % 2) ? synced : bound;
  Bytes answer = phone.authenticator->process(in);
  if (answer.empty()) abort();
  if (answer[0] == 0x00 && answer.size() > 1) {
    if (!cbor::decode(ByteView(answer).subspan(1)).ok()) abort();
  }
  phone.trim();
  return 0;
}
