#include "ble/rfkill.h"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace hybrid::ble {

bool sysfs_rfkill_blocked(const std::string& adapter) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path("/sys/class/bluetooth") / adapter;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("rfkill", 0) != 0) continue;
    for (const char* f : {"soft", "hard"}) {
      std::ifstream in(entry.path() / f);
      int v = 0;
      if (in >> v && v != 0) return true;
    }
  }
  return false;
}

}  // namespace hybrid::ble
