// The software phone's credential store: discoverable ES256 credentials (with their
// private keys and PRF secrets) and the per-install attestation identity, kept in one
// JSON file written atomically (temp + fsync + rename + fsync dir) with mode 0600.
// One process owns a store file at a time (an exclusive lock on "<file>.lock").
// Private keys are never logged.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/atomic_file.h"
#include "ctap/entities.h"
#include "ctap/x509.h"

namespace hybrid::ctap {

enum class PasskeyKind {
  synced,        // BE=1, BS=1: the provider syncs it ("none" attestation in practice)
  device_bound,  // BE=0, BS=0: never leaves this device (may be attested)
};
std::string_view passkey_kind_name(PasskeyKind kind);  // "synced", "device-bound"
Result<PasskeyKind> passkey_kind_from_name(std::string_view name);

struct StoredCredential {
  Bytes id;
  std::string rp_id;
  std::optional<std::string> rp_name;
  UserEntity user;
  SecretBytes private_key;             // 32-byte big-endian P-256 scalar
  SecretBytes cred_random_with_uv;     // hmac-secret / PRF key used when UV was done
  SecretBytes cred_random_without_uv;  // … and when it was not
  PasskeyKind kind = PasskeyKind::synced;
  uint32_t sign_count = 0;
  int64_t created_at = 0;  // Unix seconds
  std::optional<uint64_t> cred_protect;
};

class CredentialStore {
 public:
  // Opens (creating it, empty, when absent) the store at `path`. Fails when another
  // process holds it, when the file does not parse (it is never overwritten then), or when
  // it cannot be written. A store readable by others is tightened to 0600 with a warning.
  static Result<CredentialStore> open(const std::string& path);
  // A store that lives only in memory (tests, demos that need no persistence).
  static CredentialStore in_memory();

  CredentialStore(CredentialStore&&) noexcept;
  CredentialStore& operator=(CredentialStore&&) noexcept;
  ~CredentialStore();

  const std::string& path() const;  // empty for an in-memory store
  const std::vector<StoredCredential>& credentials() const;
  // This RP's credentials, newest first.
  std::vector<const StoredCredential*> for_rp(std::string_view rp_id) const;
  const StoredCredential* find(std::string_view rp_id, ByteView credential_id) const;

  // Adds a credential, replacing one for the same RP and user handle (CTAP: one
  // discoverable credential per account). On success it is on disk.
  Status add(StoredCredential credential);
  Status set_sign_count(ByteView credential_id, uint32_t sign_count);
  Status remove(ByteView credential_id);

  std::optional<AttestationIdentity> attestation() const;
  Status set_attestation(const AttestationIdentity& identity);

  // The file format (also used by tests to check what is on disk).
  static Result<CredentialStore> parse(std::string_view json);
  std::string serialize() const;

 private:
  struct State;
  CredentialStore();
  Status persist();
  std::unique_ptr<State> s_;
};

}  // namespace hybrid::ctap
