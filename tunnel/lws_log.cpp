#include "tunnel/lws_log.h"

#include <libwebsockets.h>

#include <mutex>
#include <string>

#include "base/log.h"

namespace hybrid::tunnel {
namespace {

void emit(int level, const char* line) {
  std::string s(line ? line : "");
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  // lws prefixes lines with a timestamp and level tag of its own; keep the text only.
  if (auto p = s.find(": "); p != std::string::npos && s.size() > 2 && s[0] == '[') s = s.substr(p + 2);
  if (level & LLL_ERR) log::warn("lws", "{}", s);
  else log::debug("lws", "{}", s);
}

}  // namespace

void install_lws_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    int levels = LLL_ERR;
    if (log::threshold() <= log::Level::debug) levels |= LLL_WARN;
    lws_set_log_level(levels, emit);
  });
}

}  // namespace hybrid::tunnel
