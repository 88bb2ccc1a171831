#include "roles/link_store.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/json_number.h"
#include "base/printable.h"
#include "roles/data_dir.h"

namespace hybrid::roles {

using json = nlohmann::json;

StoredLink LinkRecord::to_stored_link() const {
  auto key = crypto::P256PublicKey::parse(phone_public_key);
  return StoredLink{contact_id, link_id, SecretBytes(link_secret), *key, name, domain_id};
}

std::string LinkStore::default_path() { return data_dir() + "/linked-phones.json"; }

LinkStore::LinkStore(std::string path) : path_(std::move(path)) {}

namespace {

Result<std::vector<LinkRecord>> load(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes) {
    if (bytes.error().is(std::errc::no_such_file_or_directory)) return std::vector<LinkRecord>{};
    return bytes.error().with_context("reading the linked-phones file " + path);
  }
  std::vector<LinkRecord> out;
  try {
    auto j = json::parse(bytes->begin(), bytes->end());
    for (const auto& r : j.at("phones")) {
      LinkRecord l;
      l.name = r.at("name").get<std::string>();
      l.contact_id = *hex_decode(r.at("contact_id").get<std::string>());
      l.link_id = *hex_decode(r.at("link_id").get<std::string>());
      l.link_secret = *hex_decode(r.at("link_secret").get<std::string>());
      l.phone_public_key = *hex_decode(r.at("phone_public_key").get<std::string>());
      auto domain = json_whole_number_member<uint16_t>(r, "domain_id", "a linked phone");
      if (!domain) throw std::runtime_error(domain.error().message);
      l.domain_id = *domain;
      l.tunnel_override = r.value("tunnel_override", "");
      auto linked_at = json_whole_number_field<int64_t>(r, "linked_at", 0, "a linked phone");
      if (!linked_at) throw std::runtime_error(linked_at.error().message);
      l.linked_at = *linked_at;
      if (!crypto::P256PublicKey::parse(l.phone_public_key)) throw std::runtime_error("bad public key");
      out.push_back(std::move(l));
    }
  } catch (const std::exception& e) {
    return make_error("the linked-phones file " + path + " is damaged (" + e.what() +
                      "); move it away to start afresh");
  }
  return out;
}

Status save(const std::string& path, const std::vector<LinkRecord>& links) {
  json j;
  j["version"] = 1;
  j["phones"] = json::array();
  for (const auto& l : links) {
    j["phones"].push_back({{"name", l.name},
                           {"contact_id", hex_encode(l.contact_id)},
                           {"link_id", hex_encode(l.link_id)},
                           {"link_secret", hex_encode(l.link_secret)},
                           {"phone_public_key", hex_encode(l.phone_public_key)},
                           {"domain_id", l.domain_id},
                           {"tunnel_override", l.tunnel_override},
                           {"linked_at", l.linked_at}});
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string text = j.dump(2) + "\n";
  auto st = atomic_write_file(path, as_bytes(text), 0600);
  secure_wipe(text.data(), text.size());
  return st;
}

}  // namespace

Result<std::vector<LinkRecord>> LinkStore::list() const { return load(path_); }

Result<std::optional<LinkRecord>> LinkStore::find(const std::string& name) const {
  HYBRID_TRY(auto links, load(path_));
  for (auto& l : links)
    if (l.name == name) return std::optional<LinkRecord>(std::move(l));
  return std::optional<LinkRecord>();
}

namespace {
void ensure_parent(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
}
}  // namespace

Result<std::string> LinkStore::add(const LinkingInfo& info, uint16_t domain_id, const std::string& tunnel_override) {
  if (!info.authenticator_public_key) return make_error("linking information without a public key");
  ensure_parent(path_);
  HYBRID_TRY(auto lock, FileLock::acquire(path_));
  HYBRID_TRY(auto links, load(path_));
  Bytes key(info.authenticator_public_key->uncompressed().begin(), info.authenticator_public_key->uncompressed().end());
  // The same phone linking again replaces its old record (a fresh secret).
  std::erase_if(links, [&](const LinkRecord& l) { return l.phone_public_key == key; });
  // The name comes from the phone: kept printable (no terminal controls, no bidi overrides).
  std::string base = printable(info.name, 64);
  if (base.empty()) base = "phone";
  std::string name = base;
  for (int i = 2; std::any_of(links.begin(), links.end(), [&](const LinkRecord& l) { return l.name == name; }); ++i) {
    name = base + " (" + std::to_string(i) + ")";
  }
  LinkRecord r{name, info.contact_id, info.link_id, to_bytes(info.link_secret.view()), key, domain_id, tunnel_override,
               static_cast<int64_t>(std::time(nullptr))};
  links.push_back(std::move(r));
  HYBRID_TRY_STATUS(save(path_, links));
  return name;
}

Result<bool> LinkStore::forget(const std::string& name) {
  ensure_parent(path_);
  HYBRID_TRY(auto lock, FileLock::acquire(path_));
  HYBRID_TRY(auto links, load(path_));
  size_t before = links.size();
  std::erase_if(links, [&](const LinkRecord& l) { return l.name == name; });
  if (links.size() == before) return false;
  HYBRID_TRY_STATUS(save(path_, links));
  return true;
}

}  // namespace hybrid::roles
