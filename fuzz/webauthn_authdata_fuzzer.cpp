// Feeds arbitrary bytes to the relying party's parsers of what a client hands it:
// authenticator data, attestation objects (and their statements), COSE keys and
// clientDataJSON. Nothing may crash; what parses must survive encode → parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/log.h"
#include "ctap/auth_data.h"
#include "ctap/cose_key.h"
#include "ctap/make_credential.h"
#include "webauthn/attestation_verification.h"
#include "webauthn/client_data.h"

using namespace hybrid;
using namespace hybrid::ctap;
using namespace hybrid::webauthn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (log::set_threshold(log::Level::off), true);
  (void)quiet;
  ByteView in(data, size);

  auto ad = AuthenticatorData::parse(in);
  if (ad.ok()) {
    auto again = AuthenticatorData::parse(ad->encode());
    if (!again.ok() || again->sign_count != ad->sign_count || again->flags != ad->flags) abort();
    if (ad->attested) (void)p256_from_cose_key_bytes(ad->attested->public_key_cose);
  }

  auto att = MakeCredentialResponse::from_attestation_object(in);
  if (att.ok()) {
    auto inner = AuthenticatorData::parse(att->auth_data);
    if (inner.ok() && inner->attested) {
      ClientDataHash cdh{};
      (void)verify_attestation(*att, *inner, cdh, {});
    }
    if (!MakeCredentialResponse::from_attestation_object(att->attestation_object()).ok()) abort();
  }

  (void)p256_from_cose_key_bytes(in);
  (void)parse_client_data(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
