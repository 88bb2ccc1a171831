#include "roles/phone_identity.h"

#include <nlohmann/json.hpp>

#include <cerrno>

#include "crypto/primitives.h"
#include "base/atomic_file.h"
#include "hybrid/derive.h"

namespace hybrid::roles {

using json = nlohmann::json;

PhoneIdentity PhoneIdentity::ephemeral(const std::string& name) {
  PhoneIdentity p;
  p.root_ = SecretBytes(crypto::random_bytes(kRootSecretSize));
  p.identity_ = crypto::P256KeyPair::generate();
  p.contact_id_ = crypto::random_bytes(16);
  p.push_secret_ = hex_encode(crypto::random_bytes(32));
  p.name_ = name;
  return p;
}

Result<PhoneIdentity> PhoneIdentity::load_or_create(const std::string& path, const std::string& name) {
  auto bytes = read_file(path);
  if (!bytes && !bytes.error().is(std::errc::no_such_file_or_directory)) return bytes.error().with_context("reading the phone identity " + path);
  if (!bytes) {
    PhoneIdentity p = ephemeral(name);
    json j{{"version", 1},
           {"name", name},
           {"root_secret", hex_encode(p.root_.view())},
           {"identity_private", hex_encode(p.identity_->private_scalar().view())},
           {"contact_id", hex_encode(p.contact_id_)},
           {"push_secret", p.push_secret_}};
    std::string text = j.dump(2) + "\n";
    auto st = atomic_write_file(path, as_bytes(text), 0600);
    secure_wipe(text.data(), text.size());
    if (!st) return st.error().with_context("writing the phone identity " + path);
    return p;
  }
  try {
    auto j = json::parse(bytes->begin(), bytes->end());
    secure_wipe(bytes->data(), bytes->size());
    PhoneIdentity p;
    p.name_ = name.empty() ? j.value("name", "software phone") : name;
    p.root_ = SecretBytes(*hex_decode(j.at("root_secret").get<std::string>()));
    auto key = crypto::P256KeyPair::from_private_scalar(*hex_decode(j.at("identity_private").get<std::string>()));
    if (!key) throw std::runtime_error(key.error().message);
    p.identity_ = std::move(key).value();
    p.contact_id_ = *hex_decode(j.at("contact_id").get<std::string>());
    p.push_secret_ = j.at("push_secret").get<std::string>();
    return p;
  } catch (const std::exception& e) {
    return make_error("the phone identity file " + path + " is damaged (" + e.what() + ")");
  }
}

SecretBytes PhoneIdentity::link_secret(ByteView link_id) const {
  Bytes per_contact = derive(root_, contact_id_, DerivedValue::per_contact_id_secret, 32);
  SecretBytes out(derive(per_contact, link_id, DerivedValue::paired_secret, kLinkSecretSize));
  secure_wipe(per_contact.data(), per_contact.size());
  return out;
}

LinkingOffer PhoneIdentity::make_linking_offer() const {
  Bytes link_id = crypto::random_bytes(kLinkIdSize);
  return LinkingOffer{&*identity_, contact_id_, link_id, link_secret(link_id), name_};
}

}  // namespace hybrid::roles
