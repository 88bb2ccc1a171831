// A minimal in-memory CTAP2 authenticator that plays "the phone" for the bridge's tests
// and for `hybrid bridge --backend software`: makeCredential (ES256, "none" attestation),
// getAssertion (allowList or discoverable), getInfo. Real signatures, no persistence,
// no extensions, no PIN. It is a test double, not the project's software authenticator
// (ctap/); once that exists the software backend can use it instead.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/p256.h"

namespace hybrid::bridge {

class TestAuthenticator {
 public:
  TestAuthenticator();

  // CTAP command byte ‖ CBOR parameters → status byte ‖ CBOR response.
  Bytes process(ByteView request);

  size_t credential_count() const { return credentials_.size(); }

 private:
  struct Credential {
    Bytes id;
    std::string rp_id;
    Bytes user_id;
    std::string user_name;
    crypto::P256KeyPair key;
    bool discoverable = false;
    uint32_t sign_count = 0;
  };

  Bytes make_credential(ByteView params);
  Bytes get_assertion(ByteView params);
  Bytes get_info() const;

  ByteArray<16> aaguid_{};
  std::vector<Credential> credentials_;
};

}  // namespace hybrid::bridge
