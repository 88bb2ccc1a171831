#include "base/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace hybrid::log {
namespace {

Level level_from_env() {
  const char* v = std::getenv("HYBRID_LOG");
  if (!v) return Level::info;
  if (!std::strcmp(v, "debug")) return Level::debug;
  if (!std::strcmp(v, "warn")) return Level::warn;
  if (!std::strcmp(v, "error")) return Level::error;
  if (!std::strcmp(v, "off")) return Level::off;
  return Level::info;
}

std::atomic<int>& threshold_storage() {
  static std::atomic<int> t{static_cast<int>(level_from_env())};
  return t;
}
std::atomic<bool> g_json{false};
std::mutex g_mutex;

const char* level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    default: return "off";
  }
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", c);
        else out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Level threshold() { return static_cast<Level>(threshold_storage().load()); }
void set_threshold(Level level) { threshold_storage() = static_cast<int>(level); }
void set_json(bool on) { g_json = on; }

void write(Level level, std::string_view stage, std::string_view message) {
  if (level < threshold()) return;
  auto now = std::chrono::system_clock::now();
  double ts = std::chrono::duration<double>(now.time_since_epoch()).count();
  std::string line;
  if (g_json) {
    line = fmt::format("{{\"ts\":{:.3f},\"level\":\"{}\",\"stage\":\"{}\",\"msg\":\"{}\"}}\n", ts,
                       level_name(level), json_escape(stage), json_escape(message));
  } else {
    line = fmt::format("[{}] {}: {}\n", level_name(level), stage, message);
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string redact_id(std::string_view hex) {
  return fmt::format("{}…({}B)", hex.substr(0, 4), hex.size() / 2);
}

}  // namespace hybrid::log
