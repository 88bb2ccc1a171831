// Finding the third-party programs `hybrid browser` runs, with errors that name the Debian
// package to install.
#pragma once

#include <string>

#include "base/result.h"

namespace hybrid::browser {

// `name` on $PATH (or `name` itself when it contains a '/'). The error says
// "<what> was not found: install the Debian package <package>".
Result<std::string> find_program(const std::string& name, const std::string& what, const std::string& package);

// True when 127.0.0.1:port can be bound now (a port given on the command line).
bool port_is_free(uint16_t port);

}  // namespace hybrid::browser
