#include "base/core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace hybrid {

Status keep_secrets_out_of_core_dumps() {
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return make_error(std::string("could not disable core dumps (setrlimit RLIMIT_CORE): ") + std::strerror(errno));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return make_error(std::string("could not mark the process not dumpable (prctl): ") + std::strerror(errno));
  }
  return {};
}

}  // namespace hybrid
