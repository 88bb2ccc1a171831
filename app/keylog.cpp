#include "app/keylog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace hybrid::app {

bool append_keylog(const std::string& json_line) {
  const char* path = std::getenv("HYBRID_KEYLOG");
  if (!path || !*path) return true;
  static bool warned = false;
  if (!warned) {
    std::fprintf(stderr,
                 "\n*** WARNING: HYBRID_KEYLOG is set: this transaction's private keys and secrets are being\n"
                 "*** written to %s. Anyone with that file can decrypt the transaction. Unset it when you\n"
                 "*** are done debugging.\n\n",
                 path);
    warned = true;
  }
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "hybrid: cannot write the key log %s\n", path);
    return false;
  }
  std::string line = json_line + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  return ok;
}

}  // namespace hybrid::app
