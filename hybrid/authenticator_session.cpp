#include "hybrid/authenticator_session.h"

#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "hybrid/advert.h"
#include "hybrid/crypter.h"
#include "hybrid/derive.h"
#include "hybrid/framing.h"
#include "hybrid/linking.h"
#include "hybrid/post_handshake.h"

namespace hybrid {

using crypto::P256KeyPair;
using crypto::P256PublicKey;
using State = AuthenticatorSession::State;

struct AuthenticatorSession::Impl {
  HandshakeFlow flow = HandshakeFlow::qr;
  State state = State::awaiting_tunnel;
  AuthenticatorConfig config;

  // QR flow.
  std::optional<P256PublicKey> client_identity;
  QrSecret qr_secret{};
  TunnelId tunnel_id;
  std::optional<LinkingOffer> linking;
  bool client_supports_linking = false;

  // Linked flow.
  const P256KeyPair* identity = nullptr;
  SecretBytes link_secret;
  ClientNonce client_nonce;

  SecretBytes eid_key;
  std::optional<AdvertPlaintext> fixed_plaintext;
  AdvertPlaintext plaintext{};
  bool advertising = false;
  std::optional<P256KeyPair> fixed_ephemeral;
  std::optional<Crypter> crypter;
  bool request_outstanding = false;
  bool served_request = false;

  ~Impl() { secure_wipe(qr_secret.data(), qr_secret.size()); }

  Error fail(SessionError code, std::string message) {
    state = State::failed;
    crypter.reset();
    return make_error(code, std::move(message));
  }
};

AuthenticatorSession::AuthenticatorSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuthenticatorSession::AuthenticatorSession(AuthenticatorSession&&) noexcept = default;
AuthenticatorSession& AuthenticatorSession::operator=(AuthenticatorSession&&) noexcept = default;
AuthenticatorSession::~AuthenticatorSession() = default;

AuthenticatorSession AuthenticatorSession::start_qr(const qr::QrPayload& qr, AuthenticatorConfig config,
                                                    std::optional<LinkingOffer> linking) {
  auto impl = std::make_unique<Impl>();
  impl->flow = HandshakeFlow::qr;
  impl->config = std::move(config);
  impl->client_identity = qr.identity_key;
  impl->qr_secret = qr.secret;
  impl->tunnel_id = derive_tunnel_id(qr.secret);
  impl->eid_key = derive_eid_key(qr.secret);
  impl->client_supports_linking = qr.supports_linking.value_or(false);
  impl->linking = std::move(linking);
  return AuthenticatorSession(std::move(impl));
}

AuthenticatorSession AuthenticatorSession::start_linked(const P256KeyPair& identity, ByteView link_secret,
                                                        const ClientPayload& payload, AuthenticatorConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->flow = HandshakeFlow::linked;
  impl->config = std::move(config);
  impl->identity = &identity;
  impl->link_secret = SecretBytes(link_secret);
  impl->client_nonce = payload.client_nonce;
  impl->eid_key = derive_eid_key(link_secret, payload.client_nonce.bytes);
  return AuthenticatorSession(std::move(impl));
}

HandshakeFlow AuthenticatorSession::flow() const { return impl_->flow; }
State AuthenticatorSession::state() const { return impl_->state; }
const TunnelId& AuthenticatorSession::tunnel_id() const { return impl_->tunnel_id; }

void AuthenticatorSession::set_advert_plaintext_for_testing(const AdvertPlaintext& plaintext) {
  impl_->fixed_plaintext = plaintext;
}
void AuthenticatorSession::set_ephemeral_for_testing(P256KeyPair key) { impl_->fixed_ephemeral = std::move(key); }

Advert AuthenticatorSession::on_tunnel_ready(const RoutingId& routing_id) {
  auto& s = *impl_;
  if (s.fixed_plaintext) {
    s.plaintext = *s.fixed_plaintext;
  } else if (s.flow == HandshakeFlow::qr) {
    AdvertContents c;
    c.nonce = AdvertNonce{crypto::random_array<kNonceSize>()};
    c.routing_id = routing_id;
    c.domain_id = s.config.domain_id;
    s.plaintext = c.to_plaintext();
  } else {
    s.plaintext = random_linked_advert_plaintext();
  }
  s.state = State::awaiting_handshake;
  return encrypt_advert(s.eid_key, s.plaintext);
}

namespace {

Result<SessionOutput> respond_to_handshake(AuthenticatorSession::Impl& s, ByteView message) {
  ByteView secret = s.flow == HandshakeFlow::qr ? ByteView(s.qr_secret) : s.link_secret.view();
  SecretBytes psk = derive_psk(secret, s.plaintext);
  std::optional<P256KeyPair> ephemeral = std::move(s.fixed_ephemeral);
  s.fixed_ephemeral.reset();
  auto r = s.flow == HandshakeFlow::qr
               ? respond_qr_handshake(psk, *s.client_identity, message, std::move(ephemeral))
               : respond_linked_handshake(psk, *s.identity, message, std::move(ephemeral));
  if (!r) return s.fail(SessionError::handshake_failed, "handshake failed: " + r.error().message);
  s.crypter.emplace(r->result.keys, Crypter::Role::phone);
  s.state = State::established;

  SessionOutput out;
  out.to_send.push_back(r->message2);
  auto phm = s.crypter->encrypt(encode_post_handshake(s.config.get_info, s.config.features));
  if (!phm) return s.fail(SessionError::protocol_violation, phm.error().message);
  out.to_send.push_back(std::move(phm).value());

  if (s.flow == HandshakeFlow::qr && s.config.send_update) {
    std::optional<LinkingInfo> info;
    if (s.linking && s.client_supports_linking && s.linking->identity) {
      LinkingInfo li;
      li.contact_id = s.linking->contact_id;
      li.link_id = s.linking->link_id;
      li.link_secret = s.linking->link_secret;
      li.authenticator_public_key = s.linking->identity->public_key();
      li.name = s.linking->name;
      li.signature = linking_signature(*s.linking->identity, *s.client_identity, r->result.handshake_hash);
      info = std::move(li);
    }
    auto update = s.crypter->encrypt(encode_update_message(info));
    if (!update) return s.fail(SessionError::protocol_violation, update.error().message);
    out.to_send.push_back(std::move(update).value());
  }
  out.events.push_back(HandshakeComplete{r->result.handshake_hash});
  return out;
}

}  // namespace

Result<SessionOutput> AuthenticatorSession::on_message(ByteView message) {
  auto& s = *impl_;
  switch (s.state) {
    case State::awaiting_tunnel:
      return s.fail(SessionError::protocol_violation, "a tunnel message arrived before the advert was made");
    case State::awaiting_handshake:
      return respond_to_handshake(s, message);
    case State::established: {
      auto plaintext = s.crypter->decrypt(message);
      if (!plaintext) {
        return s.fail(SessionError::decrypt_failed, "a message from the client did not decrypt: " + plaintext.error().message);
      }
      auto frame = parse_frame(*plaintext);
      if (!frame) return s.fail(SessionError::protocol_violation, frame.error().message);
      SessionOutput out;
      switch (frame->type) {
        case MessageType::shutdown:
          s.state = State::closed;
          s.crypter.reset();
          out.events.push_back(ClientShutdown{});
          return out;
        case MessageType::ctap:
          if (frame->payload.empty()) return s.fail(SessionError::protocol_violation, "an empty CTAP request");
          if (s.request_outstanding) {
            return s.fail(SessionError::protocol_violation, "a second CTAP request before the first was answered");
          }
          s.request_outstanding = true;
          out.events.push_back(CtapRequest{frame->payload[0], Bytes(frame->payload.begin() + 1, frame->payload.end())});
          return out;
        case MessageType::update: {
          // Chromium's phone only checks that it is CBOR and ignores it.
          if (!frame->payload.empty() && !cbor::decode(frame->payload).ok()) {
            return s.fail(SessionError::protocol_violation, "the client's Update message is not CBOR");
          }
          return out;
        }
        case MessageType::json:
          return s.fail(SessionError::protocol_violation, "JSON (digital credential) requests are not supported");
      }
      return out;
    }
    case State::closed:
    case State::failed:
      return make_error(SessionError::wrong_state, "the session has ended");
  }
  return SessionOutput{};
}

Result<SessionOutput> AuthenticatorSession::send_ctap_response(ByteView status_and_body) {
  auto& s = *impl_;
  if (s.state != State::established || !s.request_outstanding) {
    return make_error(SessionError::wrong_state, "there is no CTAP request to answer");
  }
  if (status_and_body.empty()) return make_error(SessionError::wrong_state, "a CTAP response needs a status byte");
  auto ct = s.crypter->encrypt(encode_frame(MessageType::ctap, status_and_body));
  if (!ct) return s.fail(SessionError::protocol_violation, ct.error().message);
  s.request_outstanding = false;
  s.served_request = true;
  SessionOutput out;
  out.to_send.push_back(std::move(ct).value());
  return out;
}

Status AuthenticatorSession::on_tunnel_closed() {
  auto& s = *impl_;
  State was = s.state;
  s.state = State::closed;
  s.crypter.reset();
  if (was == State::established && s.request_outstanding) {
    return make_error(SessionError::peer_closed, "the client left while its request was being processed");
  }
  if (was == State::established && !s.served_request) {
    return make_error(SessionError::peer_closed, "the client left before sending a request");
  }
  if (was == State::awaiting_handshake) {
    return make_error(SessionError::peer_closed, "the tunnel closed before the client's handshake arrived");
  }
  return {};
}

}  // namespace hybrid
