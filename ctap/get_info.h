// authenticatorGetInfo (0x04) response (CTAP 2.1 §6.4). A hybrid phone sends it inside the
// post-handshake message (docs/protocol.md §9.4) and clients answer later getInfo requests from it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ctap/auth_data.h"
#include "ctap/entities.h"

namespace hybrid::ctap {

struct GetInfoResponse {
  std::vector<std::string> versions;            // 0x01 (required)
  std::vector<std::string> extensions;          // 0x02
  Aaguid aaguid{};                              // 0x03 (required)
  std::map<std::string, bool> options;          // 0x04
  std::optional<uint64_t> max_msg_size;         // 0x05
  std::vector<uint64_t> pin_uv_auth_protocols;  // 0x06 (phones send none)
  std::optional<uint64_t> max_credential_count_in_list;  // 0x07
  std::optional<uint64_t> max_credential_id_length;      // 0x08
  std::vector<std::string> transports;          // 0x09
  std::vector<CredentialParameter> algorithms;  // 0x0A

  bool option(const std::string& name) const {
    auto it = options.find(name);
    return it != options.end() && it->second;
  }
  bool has_extension(std::string_view name) const;

  Bytes encode() const;  // canonical CBOR, without a status byte
  // Strict: canonical CBOR, required members present, known members well-typed; unknown
  // members (newer CTAP versions) are ignored.
  static Result<GetInfoResponse> decode(ByteView cbor);
};

}  // namespace hybrid::ctap
