// Verifying attestation statements at the relying party (WebAuthn §8.2, §8.7): the
// "none" and "packed" formats (self, and x5c with FIDO's certificate requirements and a
// chain to configured roots). The authenticator's side (signing them) is
// ctap/attestation.h.
#pragma once

#include <string>
#include <vector>

#include "ctap/attestation.h"
#include "ctap/auth_data.h"
#include "ctap/make_credential.h"
#include "ctap/x509.h"

namespace hybrid::webauthn {

enum class AttestationType {
  none,         // "none": no provenance
  self,         // packed without x5c: proves only possession of the credential key
  basic,        // packed with x5c: a certificate chain names the model
  unsupported,  // a format this verifier does not check (treated as unattested)
};
std::string_view attestation_type_name(AttestationType type);

struct AttestationResult {
  std::string fmt;
  AttestationType type = AttestationType::none;
  std::vector<ctap::Certificate> x5c;  // leaf first
  bool trusted = false;          // x5c chains to one of the configured roots
  std::string untrusted_reason;  // why not, when there is a chain that does not verify
};

// Checks the statement against the authenticator data and client data hash. A malformed
// statement or a bad signature is an error; a valid chain that does not reach a trusted
// root is not (trusted = false): whether that is acceptable is the policy's decision.
Result<AttestationResult> verify_attestation(const ctap::MakeCredentialResponse& attestation, const ctap::AuthenticatorData& auth_data,
                                             const ctap::ClientDataHash& client_data_hash,
                                             const std::vector<ctap::Certificate>& trusted_roots);

// WebAuthn §8.2.1 packed attestation statement certificate requirements: version 3;
// subject C, O, OU = "Authenticator Attestation", CN; Basic Constraints present with
// CA = false; an AAGUID extension, when present, not critical and equal to `aaguid`.
Status check_packed_certificate(const ctap::Certificate& cert, const ctap::Aaguid& aaguid);

// Verifies leaf ← intermediates ← one of `roots` (signatures, validity periods, CA flags).
Status verify_certificate_chain(const ctap::Certificate& leaf, const std::vector<ctap::Certificate>& intermediates,
                                const std::vector<ctap::Certificate>& roots);

}  // namespace hybrid::webauthn
