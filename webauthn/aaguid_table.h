// AAGUID → provider or model name, for display and for policy messages. The built-in
// table is webauthn/aaguids.json (compiled in); a relying party may load its own.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "ctap/auth_data.h"

namespace hybrid::webauthn {

struct AaguidInfo {
  std::string name;
  std::string kind;   // "synced" or "device-bound": what the provider usually makes
  bool ours = false;  // this project's software phone
};

class AaguidTable {
 public:
  static const AaguidTable& builtin();
  // {"aaguids": {"<uuid>": {"name": …, "kind"?: …, "ours"?: bool}}}
  static Result<AaguidTable> parse(std::string_view json_text);

  std::optional<AaguidInfo> lookup(const ctap::Aaguid& aaguid) const;
  // The name, or "unknown authenticator (<uuid>)"; "no AAGUID" for the zero AAGUID.
  std::string describe(const ctap::Aaguid& aaguid) const;
  size_t size() const { return entries_.size(); }

 private:
  std::map<ctap::Aaguid, AaguidInfo> entries_;
};

}  // namespace hybrid::webauthn
