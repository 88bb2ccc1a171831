// A CLI11 check for command-line text that leaves the machine (CBOR text strings in CTAP
// requests and linking info, JSON on the kiosk page): it must be valid UTF-8 (RFC 3629),
// or the command stops with a usage error before anything is sent or stored.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "base/utf8.h"

namespace hybrid::app {

inline CLI::Validator utf8_text() {
  // No description: the option's help line stays as it is.
  return CLI::Validator(
      [](std::string& value) { return is_valid_utf8(value) ? std::string() : std::string("is not valid UTF-8 text"); },
      "", "UTF8");
}

}  // namespace hybrid::app
