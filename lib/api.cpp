// The C++ API (include/hybrid/hybrid.hpp) over the existing roles: ClientTransaction for
// ceremonies, PhoneRunner + SoftwareAuthenticator for the authenticator, TunnelServer for
// the node. Nothing here speaks the protocol itself.
#include "hybrid/hybrid.hpp"

#include <nlohmann/json.hpp>

#include <stop_token>

#include "base/build_info.h"
#include "ble/bluez_radio.h"
#include "crypto/primitives.h"
#include "ctap/authenticator.h"
#include "ctap/commands.h"
#include "ctap/credential_store.h"
#include "webauthn/webauthn_client.h"
#include "hybrid/domains.h"
#include "qr/payload.h"
#include "qr/render.h"
#include "roles/client_transaction.h"
#include "roles/link_store.h"
#include "roles/phone_identity.h"
#include "roles/phone_runner.h"
#include "tunnel/server.h"

namespace hybrid::api {
namespace {

Status fail(int failure, std::string message) { return Status{failure, std::move(message)}; }

Stage public_stage(roles::Stage s) {
  switch (s) {
    case roles::Stage::qr_shown: return Stage::qr_ready;
    case roles::Stage::contacting_phone: return Stage::contacting_phone;
    case roles::Stage::advert_seen: return Stage::phone_nearby;
    case roles::Stage::tunnel_connected: return Stage::connected;
    case roles::Stage::handshake_done: return Stage::secure_channel;
    case roles::Stage::waiting_for_user: return Stage::waiting_for_user;
    case roles::Stage::done: return Stage::done;
  }
  return Stage::done;
}

std::string link_store_path(const std::string& path) {
  return path.empty() ? roles::LinkStore::default_path() : path;
}

}  // namespace

std::string version() { return std::string(build_info::version()); }
std::string git_revision() { return std::string(build_info::git_revision()); }

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::qr_ready: return "qr ready";
    case Stage::contacting_phone: return "contacting phone";
    case Stage::phone_nearby: return "phone nearby";
    case Stage::connected: return "connected";
    case Stage::secure_channel: return "secure channel";
    case Stage::waiting_for_user: return "waiting for user";
    case Stage::done: return "done";
  }
  return "unknown";
}

// ---- Ceremony ---------------------------------------------------------------------------

struct Ceremony::Impl {
  bool registration = false;
  std::string options_json;
  ClientOptions options;
  std::stop_source stop;  // cancel(): before or during run()

  CeremonyResult run();
};

Ceremony::Ceremony(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ceremony::Ceremony(Ceremony&&) noexcept = default;
Ceremony& Ceremony::operator=(Ceremony&&) noexcept = default;
Ceremony::~Ceremony() = default;

Ceremony Ceremony::sign_in(std::string options_json, ClientOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options_json = std::move(options_json);
  impl->options = std::move(options);
  return Ceremony(std::move(impl));
}

Ceremony Ceremony::registration(std::string options_json, ClientOptions options) {
  Ceremony c = sign_in(std::move(options_json), std::move(options));
  c.impl_->registration = true;
  return c;
}

void Ceremony::cancel() {
  if (!impl_) return;
  impl_->stop.request_stop();
}

CeremonyResult Ceremony::run() {
  if (!impl_) return {fail(kInvalidInput, "this Ceremony was moved from"), {}, {}};
  try {
    return impl_->run();
  } catch (const std::exception& e) {
    return {fail(kInternal, std::string("internal error: ") + e.what()), {}, {}};
  }
}

CeremonyResult Ceremony::Impl::run() {
  CeremonyResult out;
  if (options.origin.empty()) return {fail(kInvalidInput, "ClientOptions::origin is required"), {}, {}};
  auto json = nlohmann::json::parse(options_json, nullptr, false);
  if (json.is_discarded()) return {fail(kInvalidInput, "the WebAuthn options are not valid JSON"), {}, {}};

  std::optional<webauthn::PreparedRegistration> reg;
  std::optional<webauthn::PreparedAuthentication> auth;
  Bytes request;
  if (registration) {
    auto o = webauthn::RegistrationOptions::from_json(json, options.origin);
    if (!o) return {fail(kInvalidInput, o.error().message), {}, {}};
    auto p = webauthn::prepare_registration(*o);
    if (!p) return {fail(kInvalidInput, p.error().message), {}, {}};
    reg = std::move(*p);
    request = reg->ctap_request();
  } else {
    auto o = webauthn::AuthenticationOptions::from_json(json, options.origin);
    if (!o) return {fail(kInvalidInput, o.error().message), {}, {}};
    auto p = webauthn::prepare_authentication(*o);
    if (!p) return {fail(kInvalidInput, p.error().message), {}, {}};
    auth = std::move(*p);
    request = auth->ctap_request();
  }

  roles::LinkStore links(link_store_path(options.link_store));
  roles::ClientTransactionOptions o;
  if (!options.phone.empty()) {
    auto found = links.find(options.phone);
    if (!found) return {fail(kInvalidInput, found.error().message), {}, {}};
    if (!found->has_value()) return {fail(kInvalidInput, "no linked phone is called \"" + options.phone + "\""), {}, {}};
    o.linked_phone = **found;
  }
  o.tunnel_override = options.tunnel_override;
  o.ca_file = options.ca_file;
  o.timeout = options.timeout;
  o.advert_timeout = options.advert_timeout;
  o.request_type = registration ? qr::RequestType::make_credential : qr::RequestType::get_assertion;
  o.offer_linking = options.offer_linking;
  auto on_stage = options.on_stage;
  o.on_progress = [on_stage](const roles::ClientProgress& p) {
    if (!on_stage) return;
    StageEvent e;
    e.stage = public_stage(p.stage);
    e.elapsed = p.elapsed;
    e.detail = p.detail;
    if (p.stage == roles::Stage::qr_shown) {
      e.qr_url = p.qr_url;
      if (auto png = qr::render_png(p.qr_url)) e.qr_png.assign(png->begin(), png->end());
    }
    on_stage(e);
  };

  ble::BluezRadioOptions ro;
  ro.dbus_address = options.dbus_address;
  ro.adapter = options.adapter;
  ro.power_on = options.power_on;
  ble::BluezRadio radio(ro);
  if (stop.stop_requested()) return {fail(kCancelled, "cancelled"), {}, {}};
  auto r = roles::ClientTransaction(radio, o).run(request[0], ByteView(request).subspan(1), stop.get_token());
  if (!r) {
    auto f = roles::failure_of(r.error()).value_or(roles::ClientFailure::internal);
    return {fail(static_cast<int>(f), r.error().message), {}, {}};
  }
  if (r->linking) {
    auto name = links.add(*r->linking, r->domain_id, options.tunnel_override);
    if (name) out.linked_phone = *name;
  }
  Bytes response = concat(Bytes{r->ctap_status}, r->ctap_body);
  auto finished = registration ? webauthn::finish_registration(*reg, response) : webauthn::finish_authentication(*auth, response);
  if (!finished) return {fail(r->ctap_status != 0 ? kCtap : kProtocol, finished.error().message), {}, out.linked_phone};
  out.credential_json = finished->dump();
  return out;
}

// ---- Linked phones ----------------------------------------------------------------------

Status linked_phones(const std::string& link_store, std::vector<LinkedPhone>& out) {
  out.clear();
  roles::LinkStore links(link_store_path(link_store));
  auto all = links.list();
  if (!all) return fail(kInvalidInput, all.error().message);
  for (const auto& l : *all) {
    out.push_back({l.name, l.tunnel_override.empty() ? tunnel_domain(l.domain_id).value_or("?") : l.tunnel_override,
                   hex_encode(l.phone_public_key), l.linked_at});
  }
  return {};
}

Status forget_linked_phone(const std::string& link_store, const std::string& name) {
  roles::LinkStore links(link_store_path(link_store));
  auto r = links.forget(name);
  if (!r) return fail(kInvalidInput, r.error().message);
  if (!*r) return fail(kInvalidInput, "no linked phone is called \"" + name + "\"");
  return {};
}

// ---- Authenticator ----------------------------------------------------------------------

struct Authenticator::Impl {
  AuthenticatorOptions options;
  ctap::CredentialStore store;
  roles::PhoneIdentity identity;
  ctap::AutoApprover approver;
  ctap::SoftwareAuthenticator authenticator;
  ble::BluezRadio radio;
  roles::PhoneRunner runner;

  Impl(AuthenticatorOptions o, ctap::CredentialStore s, roles::PhoneIdentity id, ctap::AuthenticatorConfig config,
       ble::BluezRadioOptions ro, roles::PhoneOptions po)
      : options(std::move(o)),
        store(std::move(s)),
        identity(std::move(id)),
        authenticator(store, std::move(config), approver),
        radio(std::move(ro)),
        runner(radio, authenticator, identity, std::move(po)) {}
};

Authenticator::Authenticator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Authenticator::Authenticator(Authenticator&&) noexcept = default;
Authenticator& Authenticator::operator=(Authenticator&&) noexcept = default;
Authenticator::~Authenticator() = default;

Authenticator Authenticator::open(AuthenticatorOptions options, Status& status) {
  status = {};
  if (options.tunnel.empty() || options.store.empty()) {
    status = fail(kInvalidInput, "AuthenticatorOptions: tunnel and store are required");
    return Authenticator(nullptr);
  }
  auto kind = ctap::passkey_kind_from_name(options.kind);
  if (!kind) return status = fail(kInvalidInput, kind.error().message), Authenticator(nullptr);
  auto store = ctap::CredentialStore::open(options.store);
  if (!store) return status = fail(kInvalidInput, store.error().message), Authenticator(nullptr);
  auto identity = roles::PhoneIdentity::load_or_create(
      options.identity.empty() ? options.store + ".identity.json" : options.identity, options.name);
  if (!identity) return status = fail(kInvalidInput, identity.error().message), Authenticator(nullptr);
  auto config = ctap::AuthenticatorConfig::for_kind(*kind);
  config.provider_name = options.name;
  ble::BluezRadioOptions ro;
  ro.dbus_address = options.dbus_address;
  ro.adapter = options.adapter;
  roles::PhoneOptions po;
  po.tunnel_base = options.tunnel;
  po.ca_file = options.ca_file;
  po.domain_id = options.domain_id;
  po.offer_linking = options.offer_linking;
  po.timeout = options.timeout;
  return Authenticator(std::make_unique<Impl>(options, std::move(*store), std::move(*identity), std::move(config),
                                              std::move(ro), std::move(po)));
}

AuthenticatorResult Authenticator::serve_qr(const std::string& qr_url) {
  AuthenticatorResult out;
  if (!impl_) return {fail(kInvalidInput, "this Authenticator was not opened"), {}, 0};
  auto qr = qr::parse_url(qr_url);
  if (!qr) return {fail(kInvalidInput, "the QR code: " + qr.error().message), {}, 0};
  try {
    auto r = impl_->runner.serve_qr(*qr);
    if (!r) {
      int f = ble::radio_error_of(r.error()) ? kBluetooth : kPhoneClosed;
      return {fail(f, r.error().message), {}, 0};
    }
    out.command = std::string(ctap::command_name(r->command));
    out.ctap_status = r->status;
    if (r->status != 0) out.status = fail(kCtap, webauthn::explain_ctap_status(r->status));
  } catch (const std::exception& e) {
    return {fail(kInternal, std::string("internal error: ") + e.what()), {}, 0};
  }
  return out;
}

void Authenticator::cancel() {
  if (!impl_) return;
  impl_->runner.cancel();
}

// ---- TunnelNode -------------------------------------------------------------------------

struct TunnelNode::Impl {
  std::unique_ptr<tunnel::TunnelServer> server;
  bool stopped = false;
};

TunnelNode::TunnelNode(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TunnelNode::TunnelNode(TunnelNode&&) noexcept = default;
TunnelNode& TunnelNode::operator=(TunnelNode&&) noexcept = default;
TunnelNode::~TunnelNode() { stop(); }

TunnelNode TunnelNode::start(TunnelNodeOptions options, Status& status) {
  status = {};
  tunnel::ServerConfig c;
  c.host = options.host;
  c.port = options.port;
  c.tls_cert_file = options.tls_cert_file;
  c.tls_key_file = options.tls_key_file;
  if (!options.routing_id.empty()) {
    auto id = RoutingId::from_hex(options.routing_id, "routing_id");
    if (!id) return status = fail(kInvalidInput, id.error().message), TunnelNode(nullptr);
    c.routing_id = *id;
  } else {
    c.routing_id.bytes = crypto::random_array<kRoutingIdSize>();
  }
  auto server = tunnel::TunnelServer::create(c);
  if (!server) return status = fail(kNetwork, server.error().message), TunnelNode(nullptr);
  auto impl = std::make_unique<Impl>();
  impl->server = std::move(*server);
  impl->server->start();
  return TunnelNode(std::move(impl));
}

std::uint16_t TunnelNode::port() const { return impl_ ? impl_->server->port() : 0; }
std::string TunnelNode::url() const { return impl_ ? impl_->server->url() : std::string(); }

void TunnelNode::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->server->stop();
  impl_->server->join();
}

}  // namespace hybrid::api
