// Interop debugging: replays the client side of a recorded transaction (a transcript in
// the tests/vectors schema: keys from HYBRID_KEYLOG, the QR code, the advert and the
// phone's messages) and reports every derived value and decrypted message, stopping at
// the exact step that fails.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace hybrid {

struct TranscriptMessage {
  bool from_phone = false;
  std::optional<Bytes> bytes;  // a client message's bytes are optional (checked if given)
};

struct Transcript {
  std::string flow = "qr";  // "qr" or "linked"
  std::string description;
  // QR flow.
  std::string qr_url;
  Bytes client_static_private;
  // Linked flow.
  Bytes link_secret;
  Bytes client_nonce;
  Bytes phone_public_key;
  // Both.
  Bytes client_ephemeral_private;
  Bytes advert;
  std::vector<TranscriptMessage> messages;
  nlohmann::json expect = nlohmann::json::object();
};

Result<Transcript> parse_transcript(const nlohmann::json& j);
nlohmann::json transcript_to_json(const Transcript& t);

struct ReplayStep {
  std::string name;    // "tunnel ID", "advert", "handshake", "phone message 2 (update)", …
  std::string detail;  // the value (hex or diagnostic) or what went wrong
  bool ok = true;
};

struct ReplayReport {
  std::vector<ReplayStep> steps;
  bool ok = true;
  std::vector<Bytes> phone_plaintexts;   // decrypted phone messages after the handshake
  std::vector<Bytes> client_plaintexts;  // decrypted client messages after the handshake

  const ReplayStep* failed_step() const;
};

// Never fails as a whole: a failing step is recorded and the replay stops there.
// `expect` members present in the transcript are checked as steps too.
ReplayReport replay_transcript(const Transcript& transcript);

}  // namespace hybrid
