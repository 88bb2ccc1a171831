#include "ctap/credential_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/json_number.h"
#include "base/log.h"

namespace hybrid::ctap {
namespace {

constexpr std::string_view kFormat = "hybrid-ctap-credential-store";
constexpr int kVersion = 1;

using json = nlohmann::json;

bool same(ByteView a, ByteView b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

Result<Bytes> b64_field(const json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_string()) return make_error(fmt::format("\"{}\" is missing or not a string", name));
  auto b = base64url_decode(j[name].get<std::string>());
  if (!b.ok()) return make_error(fmt::format("\"{}\": {}", name, b.error().message));
  return std::move(b).value();
}

Result<SecretBytes> secret_field(const json& j, const char* name, size_t size) {
  if (!j.contains(name) || !j[name].is_string()) return make_error(fmt::format("\"{}\" is missing or not a string", name));
  auto b = hex_decode(j[name].get<std::string>());
  if (!b.ok() || b->size() != size) return make_error(fmt::format("\"{}\" must be {} bytes of hex", name, size));
  return SecretBytes(std::move(b).value());
}

Result<std::optional<std::string>> optional_string(const json& j, const char* name) {
  if (!j.contains(name) || j[name].is_null()) return std::optional<std::string>{};
  if (!j[name].is_string()) return make_error(fmt::format("\"{}\" must be a string", name));
  return std::optional<std::string>{j[name].get<std::string>()};
}

json credential_to_json(const StoredCredential& c) {
  json j;
  j["id"] = base64url_encode(c.id);
  j["rp_id"] = c.rp_id;
  if (c.rp_name) j["rp_name"] = *c.rp_name;
  j["user_id"] = base64url_encode(c.user.id);
  if (c.user.name) j["user_name"] = *c.user.name;
  if (c.user.display_name) j["user_display_name"] = *c.user.display_name;
  j["kind"] = std::string(passkey_kind_name(c.kind));
  j["private_key"] = hex_encode(c.private_key);
  j["cred_random_with_uv"] = hex_encode(c.cred_random_with_uv);
  j["cred_random_without_uv"] = hex_encode(c.cred_random_without_uv);
  j["sign_count"] = c.sign_count;
  j["created_at"] = c.created_at;
  if (c.cred_protect) j["cred_protect"] = *c.cred_protect;
  return j;
}

Result<StoredCredential> credential_from_json(const json& j) {
  if (!j.is_object()) return make_error("a credential must be an object");
  StoredCredential c;
  HYBRID_TRY(c.id, b64_field(j, "id"));
  if (c.id.empty()) return make_error("\"id\" is empty");
  if (!j.contains("rp_id") || !j["rp_id"].is_string()) return make_error("\"rp_id\" is missing");
  c.rp_id = j["rp_id"].get<std::string>();
  HYBRID_TRY(c.rp_name, optional_string(j, "rp_name"));
  HYBRID_TRY(c.user.id, b64_field(j, "user_id"));
  HYBRID_TRY(c.user.name, optional_string(j, "user_name"));
  HYBRID_TRY(c.user.display_name, optional_string(j, "user_display_name"));
  if (!j.contains("kind") || !j["kind"].is_string()) return make_error("\"kind\" is missing");
  HYBRID_TRY(c.kind, passkey_kind_from_name(j["kind"].get<std::string>()));
  HYBRID_TRY(c.private_key, secret_field(j, "private_key", 32));
  HYBRID_TRY(c.cred_random_with_uv, secret_field(j, "cred_random_with_uv", 32));
  HYBRID_TRY(c.cred_random_without_uv, secret_field(j, "cred_random_without_uv", 32));
  HYBRID_TRY(c.sign_count, json_whole_number_member<uint32_t>(j, "sign_count", "a stored passkey"));
  // (A created_at over 2^63 - 1 used to wrap around to a negative time.)
  HYBRID_TRY(c.created_at, json_whole_number_field<int64_t>(j, "created_at", c.created_at, "a stored passkey"));
  if (j.contains("cred_protect")) {
    auto level = json_whole_number<uint64_t>(j["cred_protect"]);
    if (!level) return make_error("\"cred_protect\" must be 1, 2 or 3");
    c.cred_protect = *level;
  }
  return c;
}

}  // namespace

std::string_view passkey_kind_name(PasskeyKind kind) {
  return kind == PasskeyKind::synced ? "synced" : "device-bound";
}

Result<PasskeyKind> passkey_kind_from_name(std::string_view name) {
  if (name == "synced") return PasskeyKind::synced;
  if (name == "device-bound" || name == "device_bound") return PasskeyKind::device_bound;
  return make_error(fmt::format("unknown passkey kind '{}' (use synced or device-bound)", name));
}

struct CredentialStore::State {
  std::string path;
  std::optional<FileLock> lock;
  std::vector<StoredCredential> credentials;
  struct Attestation {
    std::string root_pem;
    std::string batch_pem;
    SecretBytes batch_key;
  };
  std::optional<Attestation> attestation;
};

CredentialStore::CredentialStore() : s_(std::make_unique<State>()) {}
CredentialStore::CredentialStore(CredentialStore&&) noexcept = default;
CredentialStore& CredentialStore::operator=(CredentialStore&&) noexcept = default;
CredentialStore::~CredentialStore() = default;

CredentialStore CredentialStore::in_memory() { return CredentialStore(); }

const std::string& CredentialStore::path() const { return s_->path; }
const std::vector<StoredCredential>& CredentialStore::credentials() const { return s_->credentials; }

std::vector<const StoredCredential*> CredentialStore::for_rp(std::string_view rp_id) const {
  std::vector<const StoredCredential*> out;
  // Newest first; among equal creation times, the later-added first.
  for (auto it = s_->credentials.rbegin(); it != s_->credentials.rend(); ++it)
    if (it->rp_id == rp_id) out.push_back(&*it);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->created_at > b->created_at; });
  return out;
}

const StoredCredential* CredentialStore::find(std::string_view rp_id, ByteView credential_id) const {
  for (const auto& c : s_->credentials)
    if (c.rp_id == rp_id && same(c.id, credential_id)) return &c;
  return nullptr;
}

Status CredentialStore::add(StoredCredential credential) {
  auto& list = s_->credentials;
  std::vector<StoredCredential> before;
  before.reserve(list.size());
  for (const auto& c : list) before.push_back(c);
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const StoredCredential& c) {
                              return (c.rp_id == credential.rp_id && same(c.user.id, credential.user.id)) ||
                                     same(c.id, credential.id);
                            }),
             list.end());
  list.push_back(std::move(credential));
  auto st = persist();
  if (!st.ok()) list = std::move(before);  // memory stays equal to what is on disk
  return st;
}

Status CredentialStore::set_sign_count(ByteView credential_id, uint32_t sign_count) {
  for (auto& c : s_->credentials) {
    if (same(c.id, credential_id)) {
      const uint32_t old = c.sign_count;
      c.sign_count = sign_count;
      auto st = persist();
      if (!st.ok()) c.sign_count = old;
      return st;
    }
  }
  return make_error("no such credential in the store");
}

Status CredentialStore::remove(ByteView credential_id) {
  auto& list = s_->credentials;
  auto it = std::find_if(list.begin(), list.end(), [&](const StoredCredential& c) { return same(c.id, credential_id); });
  if (it == list.end()) return make_error("no such credential in the store");
  StoredCredential removed = std::move(*it);
  const auto index = it - list.begin();
  list.erase(it);
  auto st = persist();
  if (!st.ok()) list.insert(list.begin() + index, std::move(removed));
  return st;
}

std::optional<AttestationIdentity> CredentialStore::attestation() const {
  if (!s_->attestation) return std::nullopt;
  auto root = Certificate::from_pem(s_->attestation->root_pem);
  auto batch = Certificate::from_pem(s_->attestation->batch_pem);
  auto key = crypto::P256KeyPair::from_private_scalar(s_->attestation->batch_key);
  if (!root.ok() || !batch.ok() || !key.ok()) return std::nullopt;
  return AttestationIdentity{std::move(root).value(), std::move(batch).value(), std::move(key).value()};
}

Status CredentialStore::set_attestation(const AttestationIdentity& identity) {
  auto before = s_->attestation;
  s_->attestation = State::Attestation{identity.root.pem(), identity.batch.pem(), identity.batch_key.private_scalar()};
  auto st = persist();
  if (!st.ok()) s_->attestation = std::move(before);
  return st;
}

std::string CredentialStore::serialize() const {
  json j;
  j["format"] = std::string(kFormat);
  j["version"] = kVersion;
  if (s_->attestation) {
    j["attestation"] = {{"root", s_->attestation->root_pem},
                        {"batch", s_->attestation->batch_pem},
                        {"batch_key", hex_encode(s_->attestation->batch_key)}};
  }
  j["credentials"] = json::array();
  for (const auto& c : s_->credentials) j["credentials"].push_back(credential_to_json(c));
  return j.dump(1) + "\n";
}

Result<CredentialStore> CredentialStore::parse(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error("the credential store is not a JSON object");
  if (!j.contains("format") || j["format"] != kFormat) {
    return make_error(fmt::format("not a credential store (\"format\" must be \"{}\")", kFormat));
  }
  if (!j.contains("version") || j["version"] != kVersion) {
    return make_error(fmt::format("unsupported credential store version (this build reads version {})", kVersion));
  }
  CredentialStore store;
  if (j.contains("attestation")) {
    const json& a = j["attestation"];
    if (!a.is_object() || !a.contains("root") || !a["root"].is_string() || !a.contains("batch") ||
        !a["batch"].is_string()) {
      return make_error("\"attestation\" must hold \"root\", \"batch\" and \"batch_key\"");
    }
    HYBRID_TRY(SecretBytes key, secret_field(a, "batch_key", 32));
    State::Attestation att{a["root"].get<std::string>(), a["batch"].get<std::string>(), std::move(key)};
    if (!Certificate::from_pem(att.root_pem).ok() || !Certificate::from_pem(att.batch_pem).ok()) {
      return make_error("\"attestation\" holds a certificate that does not parse");
    }
    store.s_->attestation = std::move(att);
  }
  if (!j.contains("credentials") || !j["credentials"].is_array()) return make_error("\"credentials\" must be an array");
  size_t i = 0;
  for (const auto& item : j["credentials"]) {
    auto c = credential_from_json(item);
    if (!c.ok()) return c.error().with_context(fmt::format("credential {}", i));
    store.s_->credentials.push_back(std::move(c).value());
    ++i;
  }
  return store;
}

Status CredentialStore::persist() {
  if (s_->path.empty()) return {};
  const std::string text = serialize();
  return atomic_write_file(s_->path, as_bytes(text), 0600);
}

Result<CredentialStore> CredentialStore::open(const std::string& path) {
  if (path.empty()) return make_error("the credential store needs a file path");
  HYBRID_TRY(FileLock lock, FileLock::acquire(path));
  remove_stale_temp_files(path);
  auto contents = read_file(path);
  CredentialStore store;
  if (!contents.ok()) {
    if (!contents.error().is(std::errc::no_such_file_or_directory)) return contents.error();
    store.s_->path = path;
    store.s_->lock = std::move(lock);
    HYBRID_TRY_STATUS(store.persist());
    log::info("ctap", "created an empty credential store");
    return store;
  }
  auto parsed = parse(to_string(*contents));
  if (!parsed.ok()) return parsed.error().with_context(fmt::format("credential store {}", path));
  store = std::move(parsed).value();
  store.s_->path = path;
  store.s_->lock = std::move(lock);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077)) {
    log::warn("ctap", "the credential store was readable by others (mode {:o}); setting it to 0600",
              st.st_mode & 0777);
    ::chmod(path.c_str(), 0600);
  }
  log::info("ctap", "opened credential store with {} credential(s)", store.s_->credentials.size());
  return store;
}

}  // namespace hybrid::ctap
