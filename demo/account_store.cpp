#include "demo/account_store.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace hybrid::demo {
namespace {

using nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS accounts (
  name         TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  handle       BLOB NOT NULL UNIQUE,
  groups       TEXT NOT NULL DEFAULT '[]',
  created_at   INTEGER NOT NULL DEFAULT (strftime('%s','now'))
);
CREATE TABLE IF NOT EXISTS passkeys (
  id           BLOB PRIMARY KEY,
  account      TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
  record       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS passkeys_by_account ON passkeys(account);
)sql";

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Error error(std::string_view what) const {
    return make_error(fmt::format("account store: {}: {}", what, sqlite3_errmsg(db_)));
  }
  void bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, ByteView blob) {
    sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  Bytes blob(int col) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    return p ? Bytes(p, p + sqlite3_column_bytes(stmt_, col)) : Bytes();
  }

  // Every row, each read by from_row(*this) -> Result<T>; errors name `what`.
  template <class T, class FromRow>
  Result<std::vector<T>> rows(std::string_view what, FromRow from_row) {
    std::vector<T> out;
    int rc;
    while ((rc = step()) == SQLITE_ROW) {
      HYBRID_TRY(auto row, from_row(*this));
      out.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return error(what);
    return out;
  }
  // The row if there is one (a unique key was bound), read by from_row(*this).
  template <class T, class FromRow>
  Result<std::optional<T>> row_if_any(std::string_view what, FromRow from_row) {
    int rc = step();
    if (rc == SQLITE_DONE) return std::optional<T>();
    if (rc != SQLITE_ROW) return error(what);
    HYBRID_TRY(auto row, from_row(*this));
    return std::optional<T>(std::move(row));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Result<webauthn::UserAccount> account_from_row(const Statement& s) {
  webauthn::UserAccount a;
  a.name = s.text(0);
  a.display_name = s.text(1);
  a.handle = s.blob(2);
  auto groups = json::parse(s.text(3), nullptr, false);
  if (!groups.is_array()) return make_error("account store: account '" + a.name + "' has malformed groups");
  for (const auto& g : groups) {
    if (g.is_string()) a.groups.push_back(g.get<std::string>());
  }
  return a;
}

// A passkey row: its record column, JSON.
Result<webauthn::RegisteredCredential> credential_from_row(const Statement& s) {
  auto j = json::parse(s.text(0), nullptr, false);
  if (j.is_discarded()) return make_error("account store: a passkey record is not valid JSON");
  auto c = webauthn::RegisteredCredential::from_json(j);
  if (!c.ok()) return c.error().with_context("account store: a passkey record");
  return c;
}

}  // namespace

Status check_account_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return make_error("a user name has 1 to 32 characters");
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'; };
  for (char c : name) {
    if (!ok(c)) return make_error("a user name may use only a-z, 0-9, '.', '_' and '-'");
  }
  if (name[0] == '.' || name[0] == '_' || name[0] == '-') return make_error("a user name starts with a letter or digit");
  return {};
}

Result<std::unique_ptr<AccountStore>> AccountStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return make_error(fmt::format("cannot open the account database {}: {}", path, msg));
  }
  std::unique_ptr<AccountStore> store(new AccountStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  HYBRID_TRY_STATUS(store->exec("PRAGMA foreign_keys = ON;"));
  if (path != ":memory:") HYBRID_TRY_STATUS(store->exec("PRAGMA journal_mode = WAL;"));
  HYBRID_TRY_STATUS(store->exec(kSchema));
  return store;
}

AccountStore::~AccountStore() { sqlite3_close(db_); }

Status AccountStore::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(fmt::format("account database {}: {}", path_, msg));
  }
  return {};
}

Result<std::optional<webauthn::UserAccount>> AccountStore::find_account(const std::string& name) const {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT name, display_name, handle, groups FROM accounts WHERE name = ?1");
  if (!s.ok()) return s.error("find account");
  s.bind(1, name);
  return s.row_if_any<webauthn::UserAccount>("find account", account_from_row);
}

Result<std::optional<webauthn::UserAccount>> AccountStore::find_account_by_handle(ByteView handle) const {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT name, display_name, handle, groups FROM accounts WHERE handle = ?1");
  if (!s.ok()) return s.error("find account");
  s.bind(1, handle);
  return s.row_if_any<webauthn::UserAccount>("find account", account_from_row);
}

Status AccountStore::add_account(const webauthn::UserAccount& account) {
  HYBRID_TRY_STATUS(check_account_name(account.name));
  if (account.handle.empty() || account.handle.size() > 64) {
    return make_error("a WebAuthn user handle has 1 to 64 bytes");
  }
  std::lock_guard lock(mu_);
  Statement s(db_, "INSERT INTO accounts (name, display_name, handle, groups) VALUES (?1, ?2, ?3, ?4)");
  if (!s.ok()) return s.error("add account");
  s.bind(1, account.name);
  s.bind(2, account.display_name);
  s.bind(3, ByteView(account.handle));
  s.bind(4, json(account.groups).dump());
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) return make_error("the account '" + account.name + "' already exists");
  if (rc != SQLITE_DONE) return s.error("add account");
  return {};
}

Result<std::vector<webauthn::UserAccount>> AccountStore::accounts() const {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT name, display_name, handle, groups FROM accounts ORDER BY name");
  if (!s.ok()) return s.error("list accounts");
  return s.rows<webauthn::UserAccount>("list accounts", account_from_row);
}

Result<std::vector<webauthn::RegisteredCredential>> AccountStore::credentials_of(const std::string& account) const {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT record FROM passkeys WHERE account = ?1 ORDER BY created_at, rowid");
  if (!s.ok()) return s.error("list passkeys");
  s.bind(1, account);
  return s.rows<webauthn::RegisteredCredential>("list passkeys", credential_from_row);
}

Result<std::optional<webauthn::RegisteredCredential>> AccountStore::find_credential(ByteView id) const {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT record FROM passkeys WHERE id = ?1");
  if (!s.ok()) return s.error("find passkey");
  s.bind(1, id);
  return s.row_if_any<webauthn::RegisteredCredential>("find passkey", credential_from_row);
}

bool AccountStore::credential_exists(ByteView id) const {
  auto c = find_credential(id);
  // A database error counts as "taken": refusing a registration is the safe side.
  return !c.ok() || c->has_value();
}

Status AccountStore::add_credential(const webauthn::RegisteredCredential& credential) {
  if (credential.id.empty()) return make_error("a passkey needs a credential ID");
  std::lock_guard lock(mu_);
  Statement s(db_, "INSERT INTO passkeys (id, account, record, created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!s.ok()) return s.error("add passkey");
  s.bind(1, ByteView(credential.id));
  s.bind(2, credential.user_name);
  s.bind(3, credential.to_json().dump());
  s.bind(4, credential.created_at);
  s.bind(5, credential.last_used_at);
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) {
    return make_error("this passkey is already registered, or its account '" + credential.user_name + "' does not exist");
  }
  if (rc != SQLITE_DONE) return s.error("add passkey");
  return {};
}

Status AccountStore::update_credential(const webauthn::RegisteredCredential& credential) {
  std::lock_guard lock(mu_);
  Statement s(db_, "UPDATE passkeys SET record = ?2, last_used_at = ?3 WHERE id = ?1");
  if (!s.ok()) return s.error("update passkey");
  s.bind(1, ByteView(credential.id));
  s.bind(2, credential.to_json().dump());
  s.bind(3, credential.last_used_at);
  if (s.step() != SQLITE_DONE) return s.error("update passkey");
  if (sqlite3_changes(db_) != 1) return make_error("account store: no such passkey to update");
  return {};
}

Result<size_t> AccountStore::credential_count() const {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT COUNT(*) FROM passkeys");
  if (!s.ok() || s.step() != SQLITE_ROW) return s.error("count passkeys");
  return static_cast<size_t>(std::stoll(s.text(0)));
}

}  // namespace hybrid::demo
