#include "webauthn/aaguid_table.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <stdexcept>

namespace hybrid::webauthn {
namespace detail {
extern const char* const kBuiltinAaguidsJson;
}

Result<AaguidTable> AaguidTable::parse(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("aaguids") || !j["aaguids"].is_object()) {
    return make_error("an AAGUID table must be a JSON object with an \"aaguids\" object");
  }
  AaguidTable table;
  for (const auto& [key, value] : j["aaguids"].items()) {
    HYBRID_TRY(ctap::Aaguid a, ctap::aaguid_from_string(key));
    if (!value.is_object() || !value.contains("name") || !value["name"].is_string()) {
      return make_error(fmt::format("AAGUID {} needs a \"name\"", key));
    }
    AaguidInfo info;
    info.name = value["name"].get<std::string>();
    if (value.contains("kind") && value["kind"].is_string()) info.kind = value["kind"].get<std::string>();
    if (value.contains("ours") && value["ours"].is_boolean()) info.ours = value["ours"].get<bool>();
    table.entries_[a] = std::move(info);
  }
  return table;
}

const AaguidTable& AaguidTable::builtin() {
  static const AaguidTable table = [] {
    auto t = parse(detail::kBuiltinAaguidsJson);
    if (!t.ok()) throw std::logic_error("webauthn/aaguids.json is invalid: " + t.error().message);
    return std::move(t).value();
  }();
  return table;
}

std::optional<AaguidInfo> AaguidTable::lookup(const ctap::Aaguid& aaguid) const {
  auto it = entries_.find(aaguid);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::string AaguidTable::describe(const ctap::Aaguid& aaguid) const {
  if (ctap::is_zero_aaguid(aaguid)) return "an authenticator without AAGUID";
  if (auto info = lookup(aaguid)) return info->name;
  return fmt::format("unknown authenticator ({})", ctap::aaguid_to_string(aaguid));
}

}  // namespace hybrid::webauthn
