// A throwaway certificate authority for `hybrid browser`: a P-256 root and one leaf for
// the local tunnel server naming every host the browser may derive from an advert
// (cable.ua5v.com, cable.auth.com, hashed names) plus 127.0.0.1 for our own phone. Made
// with OpenSSL's API, valid for a day, never written outside the session's directory.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace hybrid::browser {

struct LocalCa {
  std::string root_pem;  // the CA certificate to trust
  std::string leaf_pem;  // the tunnel server's certificate, then the root (a chain)
  std::string leaf_key_pem;
};

// `dns_names` go into the leaf's subjectAltName as DNS names, `ips` as IP addresses.
Result<LocalCa> make_local_ca(const std::vector<std::string>& dns_names, const std::vector<std::string>& ips);

}  // namespace hybrid::browser
