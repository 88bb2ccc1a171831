#include "ctap/x509.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <stdexcept>

#include "crypto/primitives.h"

namespace hybrid::ctap {
namespace {

constexpr const char* kAaguidOid = "1.3.6.1.4.1.45724.1.1.4";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509ExtFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
struct ObjFree {
  void operator()(ASN1_OBJECT* o) const { ASN1_OBJECT_free(o); }
};
struct OctetFree {
  void operator()(ASN1_OCTET_STRING* o) const { ASN1_OCTET_STRING_free(o); }
};
struct NameFree {
  void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};

std::shared_ptr<X509> own(X509* x) { return std::shared_ptr<X509>(x, X509_free); }

[[noreturn]] void openssl_failure(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                 -1, -1, 0) != 1) {
    openssl_failure("X509_NAME_add_entry_by_txt");
  }
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, X509ExtFree> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) openssl_failure("adding an X.509 extension");
}

void add_aaguid_ext(X509* cert, const Aaguid& aaguid) {
  std::unique_ptr<ASN1_OBJECT, ObjFree> obj(OBJ_txt2obj(kAaguidOid, 1));
  if (!obj) openssl_failure("OBJ_txt2obj");
  // extnValue = DER(OCTET STRING (16 bytes)).
  Bytes inner{0x04, 0x10};
  inner.insert(inner.end(), aaguid.begin(), aaguid.end());
  std::unique_ptr<ASN1_OCTET_STRING, OctetFree> os(ASN1_OCTET_STRING_new());
  if (!os || ASN1_OCTET_STRING_set(os.get(), inner.data(), static_cast<int>(inner.size())) != 1) {
    openssl_failure("ASN1_OCTET_STRING_set");
  }
  std::unique_ptr<X509_EXTENSION, X509ExtFree> ext(
      X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), /*crit=*/0, os.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) openssl_failure("adding the AAGUID extension");
}

std::shared_ptr<X509> new_certificate(const crypto::P256KeyPair& subject_key, X509_NAME* subject,
                                      X509_NAME* issuer_name, int validity_days) {
  auto cert = own(X509_new());
  if (!cert) openssl_failure("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) openssl_failure("X509_set_version");
  // A positive random 64-bit serial number.
  unsigned char serial_bytes[8];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) openssl_failure("RAND_bytes");
  serial_bytes[0] &= 0x7f;
  serial_bytes[0] |= 0x01;
  BIGNUM* bn = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  if (!bn) openssl_failure("BN_bin2bn");
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (!serial) openssl_failure("BN_to_ASN1_INTEGER");
  // Backdated an hour so that small clock differences do not make it "not yet valid".
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity_days) * 24 * 3600)) {
    openssl_failure("X509_gmtime_adj");
  }
  if (X509_set_subject_name(cert.get(), subject) != 1 || X509_set_issuer_name(cert.get(), issuer_name) != 1) {
    openssl_failure("setting certificate names");
  }
  if (X509_set_pubkey(cert.get(), subject_key.pkey()) != 1) openssl_failure("X509_set_pubkey");
  return cert;
}

void sign(X509* cert, const crypto::P256KeyPair& key) {
  if (X509_sign(cert, key.pkey(), EVP_sha256()) <= 0) openssl_failure("X509_sign");
}

}  // namespace

Result<Certificate> Certificate::from_der(ByteView der) {
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x) {
    ERR_clear_error();
    return make_error(fmt::format("not a DER X.509 certificate ({} bytes)", der.size()));
  }
  auto owned = own(x);
  if (p != der.data() + der.size()) {
    return make_error(fmt::format("{} bytes follow the DER certificate", der.data() + der.size() - p));
  }
  return Certificate(std::move(owned));
}

Result<std::vector<Certificate>> Certificate::all_from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) openssl_failure("BIO_new_mem_buf");
  std::vector<Certificate> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.push_back(Certificate(own(x)));
  ERR_clear_error();  // the loop ends with a "no start line" error
  if (out.empty()) return make_error("no PEM certificate found (expected -----BEGIN CERTIFICATE-----)");
  return out;
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  HYBRID_TRY(auto all, all_from_pem(pem));
  return all.front();
}

Bytes Certificate::der() const {
  unsigned char* buf = nullptr;
  int n = i2d_X509(x_.get(), &buf);
  if (n <= 0) openssl_failure("i2d_X509");
  Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

std::string Certificate::pem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), x_.get()) != 1) openssl_failure("PEM_write_bio_X509");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string Certificate::subject() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio) openssl_failure("BIO_new");
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(x_.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<crypto::P256PublicKey> Certificate::p256_public_key() const {
  EVP_PKEY* pkey = X509_get0_pubkey(x_.get());
  if (!pkey) return make_error("the certificate's public key cannot be read");
  if (!EVP_PKEY_is_a(pkey, "EC")) return make_error("the certificate's key is not an EC key");
  char group[64] = {0};
  size_t glen = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof group, &glen) != 1 ||
      std::string_view(group) != "prime256v1") {
    ERR_clear_error();
    return make_error("the certificate's key is not on P-256");
  }
  unsigned char point[65];
  size_t plen = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, "encoded-pub-key", point, sizeof point, &plen) != 1) {
    ERR_clear_error();
    return make_error("the certificate's P-256 point cannot be read");
  }
  return crypto::P256PublicKey::parse(ByteView(point, plen));
}

Result<std::optional<Aaguid>> Certificate::aaguid_extension() const {
  std::unique_ptr<ASN1_OBJECT, ObjFree> obj(OBJ_txt2obj(kAaguidOid, 1));
  if (!obj) openssl_failure("OBJ_txt2obj");
  int idx = X509_get_ext_by_OBJ(x_.get(), obj.get(), -1);
  if (idx < 0) return std::optional<Aaguid>{};
  if (X509_get_ext_by_OBJ(x_.get(), obj.get(), idx) >= 0) {
    return make_error("the certificate has more than one AAGUID extension");
  }
  X509_EXTENSION* ext = X509_get_ext(x_.get(), idx);
  if (X509_EXTENSION_get_critical(ext)) {
    return make_error("the certificate's AAGUID extension is marked critical (it must not be)");
  }
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  const unsigned char* p = ASN1_STRING_get0_data(data);
  const int n = ASN1_STRING_length(data);
  if (n != 18 || p[0] != 0x04 || p[1] != 0x10) {
    return make_error("the certificate's AAGUID extension is not an OCTET STRING of 16 bytes");
  }
  Aaguid a{};
  std::copy(p + 2, p + 18, a.begin());
  return std::optional<Aaguid>{a};
}

AttestationIdentity AttestationIdentity::generate(const Aaguid& aaguid, const std::string& vendor,
                                                  int validity_days) {
  // ISO 3166 "ZZ" (user-assigned): a per-install test CA has no country of incorporation.
  const std::string country = "ZZ";
  // Tells one install's CA from another's in certificate viewers.
  const std::string install = hex_encode(crypto::random_bytes(4));

  auto root_key = crypto::P256KeyPair::generate();
  std::unique_ptr<X509_NAME, NameFree> root_name(X509_NAME_new());
  add_name_entry(root_name.get(), "C", country);
  add_name_entry(root_name.get(), "O", vendor);
  add_name_entry(root_name.get(), "CN", vendor + " Attestation Root " + install);
  auto root = new_certificate(root_key, root_name.get(), root_name.get(), validity_days);
  add_ext(root.get(), root.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_ext(root.get(), root.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(root.get(), root.get(), NID_subject_key_identifier, "hash");
  sign(root.get(), root_key);

  auto batch_key = crypto::P256KeyPair::generate();
  std::unique_ptr<X509_NAME, NameFree> batch_name(X509_NAME_new());
  add_name_entry(batch_name.get(), "C", country);
  add_name_entry(batch_name.get(), "O", vendor);
  add_name_entry(batch_name.get(), "OU", kAttestationOu);
  add_name_entry(batch_name.get(), "CN", vendor + " Batch Attestation " + install);
  auto batch = new_certificate(batch_key, batch_name.get(), root_name.get(), validity_days);
  add_ext(batch.get(), root.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(batch.get(), root.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(batch.get(), root.get(), NID_subject_key_identifier, "hash");
  add_ext(batch.get(), root.get(), NID_authority_key_identifier, "keyid:always");
  add_aaguid_ext(batch.get(), aaguid);
  sign(batch.get(), root_key);

  return AttestationIdentity{Certificate(root), Certificate(batch), std::move(batch_key)};
}

}  // namespace hybrid::ctap
