// Where this program keeps a user's files: $XDG_DATA_HOME/hybrid, or
// ~/.local/share/hybrid when XDG_DATA_HOME is unset or empty.
#pragma once

#include <string>

namespace hybrid::roles {

std::string data_dir();

}  // namespace hybrid::roles
