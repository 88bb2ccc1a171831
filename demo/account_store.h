// The kiosk relying party's accounts and registered passkeys, in SQLite (Debian's
// libsqlite3). One row per account (login name, display name, WebAuthn user handle,
// extra groups) and one per passkey (the verifier's RegisteredCredential as JSON, keyed
// by credential ID). Thread-safe: every call takes the store's mutex.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "webauthn/verifier.h"

struct sqlite3;

namespace hybrid::demo {

class AccountStore {
 public:
  // Opens (creating the file and its tables when absent) the database at `path`;
  // ":memory:" keeps everything in memory (tests).
  static Result<std::unique_ptr<AccountStore>> open(const std::string& path);
  ~AccountStore();
  AccountStore(const AccountStore&) = delete;
  AccountStore& operator=(const AccountStore&) = delete;

  Result<std::optional<webauthn::UserAccount>> find_account(const std::string& name) const;
  Result<std::optional<webauthn::UserAccount>> find_account_by_handle(ByteView handle) const;
  // Fails when the name or the handle is taken.
  Status add_account(const webauthn::UserAccount& account);
  Result<std::vector<webauthn::UserAccount>> accounts() const;

  Result<std::vector<webauthn::RegisteredCredential>> credentials_of(const std::string& account) const;
  Result<std::optional<webauthn::RegisteredCredential>> find_credential(ByteView id) const;
  bool credential_exists(ByteView id) const;
  // Adds a new passkey (its account must exist); a known credential ID is an error.
  Status add_credential(const webauthn::RegisteredCredential& credential);
  // Stores what a sign-in changed (sign count, backup state, last use).
  Status update_credential(const webauthn::RegisteredCredential& credential);
  Result<size_t> credential_count() const;

  const std::string& path() const { return path_; }

 private:
  AccountStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status exec(const char* sql) const;

  sqlite3* db_;
  std::string path_;
  mutable std::mutex mu_;
};

// Login names the kiosk accepts: 1…32 characters of a-z, 0-9, '.', '_' and '-', starting
// with a letter or digit. Returns a message for a person when `name` is not one.
Status check_account_name(std::string_view name);

}  // namespace hybrid::demo
