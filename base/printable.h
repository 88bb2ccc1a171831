// Peer-supplied text made safe to print or serialize: link names, user names, certificate
// fields, close reasons and error messages that quote what a peer sent.
#pragma once

#include <string>
#include <string_view>

namespace hybrid {

// Valid UTF-8 with no terminal control: C0/C1 control characters, DEL and bidirectional
// overrides, embeddings and isolates (U+061C, U+200E/F, U+202A-E, U+2066-9) are dropped and
// invalid or truncated UTF-8 becomes U+FFFD, so a name cannot move the cursor, retitle or
// recolour the terminal, or make text read backwards. Longer than `max_bytes`: cut on a
// character boundary and "…" appended.
std::string printable(std::string_view s, size_t max_bytes = 1024);

}  // namespace hybrid
