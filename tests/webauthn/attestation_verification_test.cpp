// Packed attestation certificate checks with hostile subject fields (issue 15 finding 1):
// the refusal names the certificate's OU, and that text is later printed and serialized
// (the kiosk dump()s it into its state): it must be valid UTF-8 without control characters
// or bidi overrides, whatever bytes the phone's certificate carries.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "base/utf8.h"
#include "ctap/x509.h"
#include "webauthn/attestation_verification.h"

using namespace hybrid;
using namespace hybrid::ctap;
using hybrid::webauthn::check_packed_certificate;

namespace {

// A self-signed P-256 certificate whose subject has C, O, CN and the given OU bytes (in a
// TeletexString: any bytes).
Certificate certificate_with_ou(const std::string& ou) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  REQUIRE(X509_set_version(x.get(), X509_VERSION_3) == 1);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_NAME* name = X509_get_subject_name(x.get());
  // A plain ASN.1 type (not an MBSTRING_ flag) makes OpenSSL store the bytes unchecked; a
  // TeletexString, because OpenSSL refuses to parse a name whose UTF8String is not UTF-8.
  auto add = [&](const char* field, const std::string& value, int type = MBSTRING_UTF8) {
    REQUIRE(X509_NAME_add_entry_by_txt(name, field, type,
                                       reinterpret_cast<const unsigned char*>(value.data()),
                                       static_cast<int>(value.size()), -1, 0) == 1);
  };
  add("C", "US");
  add("O", "Hostile Phone");
  add("OU", ou, V_ASN1_T61STRING);
  add("CN", "Hostile Batch");
  REQUIRE(X509_set_issuer_name(x.get(), name) == 1);
  REQUIRE(X509_set_pubkey(x.get(), key.get()) == 1);
  REQUIRE(X509_sign(x.get(), key.get(), EVP_sha256()) > 0);
  unsigned char* der = nullptr;
  int n = i2d_X509(x.get(), &der);
  REQUIRE(n > 0);
  Bytes bytes(der, der + n);
  OPENSSL_free(der);
  auto cert = Certificate::from_der(bytes);
  REQUIRE(cert.ok());
  return std::move(*cert);
}

}  // namespace

TEST_CASE("attestation verification: a refused OU is quoted as printable UTF-8, whatever bytes it holds") {
  // Invalid UTF-8, a terminal escape and a right-to-left override.
  const std::string hostile = std::string("Auth\xff\xfe") + "\x1b[2J" + "\xe2\x80\xae" + "noitatsettA";
  auto status = check_packed_certificate(certificate_with_ou(hostile), Aaguid{});
  REQUIRE_FALSE(status.ok());
  const std::string& message = status.error().message;
  INFO(message);
  CHECK(message.find("OU") != std::string::npos);
  CHECK(is_valid_utf8(message));
  CHECK(message.find('\x1b') == std::string::npos);
  CHECK(message.find("\xe2\x80\xae") == std::string::npos);
  CHECK(message.find("Auth") != std::string::npos);  // still says what was there
}
