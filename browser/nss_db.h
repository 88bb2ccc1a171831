// Makes Chromium trust our local CA: a new NSS database at <home>/.pki/nssdb (where Chromium
// on Linux reads its user trust) holding the root, imported with certutil (libnss3-tools).
#pragma once

#include <chrono>
#include <string>

#include "base/result.h"

namespace hybrid::browser {

Status trust_ca_in_nss_db(const std::string& certutil, const std::string& home, const std::string& ca_pem_path,
                          const std::string& log_path, std::chrono::milliseconds timeout);

}  // namespace hybrid::browser
