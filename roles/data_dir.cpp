#include "roles/data_dir.h"

#include <cstdlib>

namespace hybrid::roles {

std::string data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::string(xdg) + "/hybrid";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/share/hybrid";
}

}  // namespace hybrid::roles
