// X.509 for packed attestation, on OpenSSL 3's X509 APIs: certificates and the
// per-install attestation CA and batch certificate the software phone generates. Checking
// a certificate (FIDO's requirements, chains to roots) is the relying party's:
// webauthn/attestation_verification.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/p256.h"
#include "ctap/auth_data.h"

typedef struct x509_st X509;

namespace hybrid::ctap {

// The OU that WebAuthn §8.2.1 requires in a packed attestation certificate's subject.
inline constexpr const char* kAttestationOu = "Authenticator Attestation";

class Certificate {
 public:
  static Result<Certificate> from_der(ByteView der);
  static Result<Certificate> from_pem(std::string_view pem);
  // Every certificate in a PEM bundle (at least one).
  static Result<std::vector<Certificate>> all_from_pem(std::string_view pem);

  Bytes der() const;
  std::string pem() const;
  std::string subject() const;  // one line, RFC 2253 style
  Result<crypto::P256PublicKey> p256_public_key() const;
  // The id-fido-gen-ce-aaguid extension (1.3.6.1.4.1.45724.1.1.4) when present.
  Result<std::optional<Aaguid>> aaguid_extension() const;

  X509* get() const { return x_.get(); }

 private:
  explicit Certificate(std::shared_ptr<X509> x) : x_(std::move(x)) {}
  std::shared_ptr<X509> x_;
  friend struct AttestationIdentity;
};

// The software phone's per-install attestation material: a self-signed root (what a
// relying party trusts) and a batch certificate under it whose key signs packed
// attestation statements. The root's private key is not kept once the batch certificate
// is issued.
struct AttestationIdentity {
  Certificate root;
  Certificate batch;
  crypto::P256KeyPair batch_key;

  // `vendor` goes into the subjects' O and CN; the AAGUID into the batch certificate.
  static AttestationIdentity generate(const Aaguid& aaguid, const std::string& vendor, int validity_days = 3650);
};

}  // namespace hybrid::ctap
