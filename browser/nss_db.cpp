#include "browser/nss_db.h"

#include <filesystem>

#include "demo/child_process.h"

namespace hybrid::browser {
namespace {

Status run(const std::vector<std::string>& argv, const std::string& log_path, std::chrono::milliseconds timeout) {
  HYBRID_TRY(auto p, demo::ChildProcess::spawn(argv, log_path));
  auto st = p.wait(timeout);
  if (!st) {
    p.terminate();
    return make_error("certutil did not finish within " + std::to_string(timeout.count() / 1000) + " s");
  }
  if (*st != 0) return make_error("certutil failed (" + std::to_string(*st) + "); see " + log_path);
  return {};
}

}  // namespace

Status trust_ca_in_nss_db(const std::string& certutil, const std::string& home, const std::string& ca_pem_path,
                          const std::string& log_path, std::chrono::milliseconds timeout) {
  const std::string db = home + "/.pki/nssdb";
  std::error_code ec;
  std::filesystem::create_directories(db, ec);
  if (ec) return make_error("cannot create " + db + ": " + ec.message());
  HYBRID_TRY_STATUS(run({certutil, "-N", "-d", "sql:" + db, "--empty-password"}, log_path, timeout));
  return run({certutil, "-A", "-d", "sql:" + db, "-n", "hybrid browser local CA", "-t", "C,,", "-i", ca_pem_path},
             log_path, timeout);
}

}  // namespace hybrid::browser
