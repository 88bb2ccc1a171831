// The software phone's long-term hybrid identity: a root secret, a P-256 identity key
// (the NKpsk0 static key linked clients know), the contact ID it hands out and the push
// secret that guards its push channel. Link secrets follow Chromium's scheme (docs/protocol.md §10.4):
// Derive(Derive(root, contact ID, 6), link ID, 4), so nothing per link needs storing.
// Kept in one JSON file, mode 0600, written atomically.
#pragma once

#include <optional>
#include <string>

#include "crypto/p256.h"
#include "hybrid/authenticator_session.h"

namespace hybrid::roles {

class PhoneIdentity {
 public:
  // Loads the file, or creates it with fresh secrets when it does not exist.
  static Result<PhoneIdentity> load_or_create(const std::string& path, const std::string& name);
  // An identity that lives only in memory.
  static PhoneIdentity ephemeral(const std::string& name);

  const crypto::P256KeyPair& identity_key() const { return *identity_; }
  const Bytes& contact_id() const { return contact_id_; }
  const std::string& push_secret() const { return push_secret_; }  // hex, for X-caBLE-Push-Secret
  const std::string& name() const { return name_; }

  SecretBytes link_secret(ByteView link_id) const;
  // Linking data for a QR transaction: a fresh random link ID and its derived secret.
  LinkingOffer make_linking_offer() const;

 private:
  PhoneIdentity() = default;
  SecretBytes root_;
  std::optional<crypto::P256KeyPair> identity_;
  Bytes contact_id_;
  std::string push_secret_;
  std::string name_;
};

}  // namespace hybrid::roles
