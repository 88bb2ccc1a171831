// The client's remembered ("linked") phones (docs/protocol.md §10.3): contact ID, link ID, link
// secret, the phone's public key and name, and the tunnel domain. One JSON file, written
// atomically with mode 0600, by default $XDG_DATA_HOME/hybrid/linked-phones.json.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hybrid/client_session.h"
#include "hybrid/linking.h"

namespace hybrid::roles {

struct LinkRecord {
  std::string name;                  // unique within the store (made unique on add)
  Bytes contact_id;
  Bytes link_id;
  Bytes link_secret;                 // secret
  Bytes phone_public_key;            // 65 bytes
  uint16_t domain_id = 0;            // tunnel-server domain of the QR transaction
  std::string tunnel_override;       // non-empty when the link was made through an override
  int64_t linked_at = 0;             // unix seconds
  ~LinkRecord() { secure_wipe(link_secret.data(), link_secret.size()); }

  StoredLink to_stored_link() const;
};

class LinkStore {
 public:
  // The default path: $XDG_DATA_HOME/hybrid/linked-phones.json or
  // ~/.local/share/hybrid/linked-phones.json.
  static std::string default_path();
  explicit LinkStore(std::string path);

  Result<std::vector<LinkRecord>> list() const;
  Result<std::optional<LinkRecord>> find(const std::string& name) const;
  // Adds or replaces the link with the same phone public key; returns the stored name.
  Result<std::string> add(const LinkingInfo& info, uint16_t domain_id, const std::string& tunnel_override);
  // Removes by name; false if there was none.
  Result<bool> forget(const std::string& name);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace hybrid::roles
