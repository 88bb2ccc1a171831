#include "browser/local_ca.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace hybrid::browser {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <class T>
using Ptr = std::unique_ptr<T, Free>;

Result<Ptr<EVP_PKEY>> new_key() {
  Ptr<EVP_PKEY> k(EVP_EC_gen("P-256"));
  if (!k) return make_error("could not make a P-256 key (OpenSSL)");
  return k;
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

Result<Ptr<X509>> new_cert(const std::string& cn, EVP_PKEY* key, X509* issuer) {
  Ptr<X509> c(X509_new());
  if (!c) return make_error("X509_new failed");
  X509_set_version(c.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("hybrid browser (throwaway)"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(c.get(), key);
  return c;
}

Result<std::string> pem_of(X509* cert) {
  Ptr<BIO> b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_X509(b.get(), cert) != 1) return make_error("could not write a certificate as PEM");
  char* data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> pem_of(EVP_PKEY* key) {
  Ptr<BIO> b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_PrivateKey(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return make_error("could not write a key as PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

Result<LocalCa> make_local_ca(const std::vector<std::string>& dns_names, const std::vector<std::string>& ips) {
  if (dns_names.empty() && ips.empty()) return make_error("the tunnel certificate needs at least one name");
  HYBRID_TRY(auto root_key, new_key());
  HYBRID_TRY(auto root, new_cert("hybrid browser local CA", root_key.get(), nullptr));
  if (!add_ext(root.get(), root.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_ext(root.get(), root.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_ext(root.get(), root.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(root.get(), root_key.get(), EVP_sha256()) <= 0) {
    return make_error("could not sign the local CA certificate (OpenSSL)");
  }
  HYBRID_TRY(auto leaf_key, new_key());
  const std::string cn = dns_names.empty() ? ips.front() : dns_names.front();
  HYBRID_TRY(auto leaf, new_cert(cn, leaf_key.get(), root.get()));
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& i : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + i;
  if (!add_ext(leaf.get(), root.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(leaf.get(), root.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_ext(leaf.get(), root.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(leaf.get(), root.get(), NID_subject_alt_name, san) ||
      !add_ext(leaf.get(), root.get(), NID_authority_key_identifier, "keyid:always") ||
      X509_sign(leaf.get(), root_key.get(), EVP_sha256()) <= 0) {
    return make_error("could not sign the tunnel certificate (OpenSSL)");
  }
  LocalCa ca;
  HYBRID_TRY(ca.root_pem, pem_of(root.get()));
  HYBRID_TRY(auto leaf_pem, pem_of(leaf.get()));
  ca.leaf_pem = leaf_pem + ca.root_pem;
  HYBRID_TRY(ca.leaf_key_pem, pem_of(leaf_key.get()));
  return ca;
}

}  // namespace hybrid::browser
