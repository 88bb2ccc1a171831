// HYBRID_KEYLOG=FILE: like TLS key logs for Wireshark, the client appends the secrets of
// each transaction (QR secret or link secret, static and ephemeral private keys) to FILE so
// that `hybrid debug replay` can decrypt a capture. Off unless the variable is set.
#pragma once

#include <string>

namespace hybrid::app {

// Appends one JSON line if HYBRID_KEYLOG is set (file mode 0600); warns loudly on stderr
// the first time. Returns false only if the variable is set and writing failed.
bool append_keylog(const std::string& json_line);

}  // namespace hybrid::app
