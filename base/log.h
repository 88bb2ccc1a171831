// Structured, stage-named logging to stderr. Logs name the stage of the flow and never
// carry keys, secrets, QR contents or CTAP payloads: log lengths and types instead.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace hybrid::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

// The threshold; starts from $HYBRID_LOG (debug|info|warn|error|off), default info.
Level threshold();
void set_threshold(Level level);
// When on, each line is one JSON object ({"ts":…,"level":…,"stage":…,"msg":…}).
void set_json(bool on);

void write(Level level, std::string_view stage, std::string_view message);

template <class... Args>
void debug(std::string_view stage, fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::debug) write(Level::debug, stage, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(std::string_view stage, fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::info) write(Level::info, stage, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(std::string_view stage, fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::warn) write(Level::warn, stage, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(std::string_view stage, fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::error) write(Level::error, stage, fmt::format(f, std::forward<Args>(args)...));
}

// Shortens an identifier for logs: the first 4 hex digits and the length ("3eef…(16B)").
std::string redact_id(std::string_view hex);

}  // namespace hybrid::log
