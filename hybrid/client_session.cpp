#include "hybrid/client_session.h"

#include <nlohmann/json.hpp>

#include <set>

#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "hybrid/advert.h"
#include "hybrid/derive.h"
#include "hybrid/framing.h"

namespace hybrid {

using crypto::P256KeyPair;
using crypto::P256PublicKey;
using State = ClientSession::State;

struct ClientSession::Impl {
  HandshakeFlow flow = HandshakeFlow::qr;
  State state = State::awaiting_advert;
  bool tunnel_open = false;
  bool advert_seen = false;
  std::set<Bytes> seen_adverts;  // non-matching adverts, to skip repeats (at most kMaxSeenAdverts)

  // QR flow.
  std::optional<P256KeyPair> identity;
  QrSecret qr_secret{};
  std::optional<qr::QrPayload> payload;
  std::string url;
  TunnelId tunnel_id;

  // Linked flow.
  Bytes contact_id;
  SecretBytes link_secret;
  std::optional<P256PublicKey> phone_key;
  ClientPayload client_payload;
  uint16_t linked_domain = 0;

  // Both.
  SecretBytes eid_key;
  AdvertPlaintext advert_plaintext{};
  std::optional<HandshakeInitiator> initiator;
  std::optional<P256KeyPair> fixed_ephemeral;  // tests and fuzzers only
  std::optional<Crypter> crypter;
  std::optional<HandshakeHash> hash;
  std::optional<PostHandshakeMessage> post_handshake;
  bool linking_processed = false;

  ~Impl() {
    secure_wipe(advert_plaintext.data(), advert_plaintext.size());
    secure_wipe(qr_secret.data(), qr_secret.size());
  }

  Error fail(SessionError code, std::string message) {
    state = State::failed;
    crypter.reset();
    initiator.reset();
    return make_error(code, std::move(message));
  }
};

ClientSession::ClientSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientSession::ClientSession(ClientSession&&) noexcept = default;
ClientSession& ClientSession::operator=(ClientSession&&) noexcept = default;
ClientSession::~ClientSession() = default;

size_t ClientSession::adverts_remembered() const { return impl_->seen_adverts.size(); }

ClientSession ClientSession::start_qr(QrOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->flow = HandshakeFlow::qr;
  impl->identity = options.identity ? std::move(*options.identity) : P256KeyPair::generate();
  impl->qr_secret = options.secret ? *options.secret : crypto::random_array<kQrSecretSize>();
  impl->payload = qr::make_client_payload(impl->identity->public_key(), impl->qr_secret, options.request_type,
                                          options.offer_linking, options.now_unix);
  impl->url = qr::encode_url(*impl->payload);
  impl->tunnel_id = derive_tunnel_id(impl->qr_secret);
  impl->eid_key = derive_eid_key(impl->qr_secret);
  impl->fixed_ephemeral = std::move(options.ephemeral);
  return ClientSession(std::move(impl));
}

ClientSession ClientSession::start_linked(const StoredLink& link, LinkedOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->flow = HandshakeFlow::linked;
  impl->contact_id = link.contact_id;
  impl->link_secret = link.link_secret;
  impl->phone_key = link.phone_public_key;
  impl->linked_domain = link.domain_id;
  impl->client_payload.link_id = link.link_id;
  impl->client_payload.client_nonce =
      options.client_nonce ? *options.client_nonce : ClientNonce{crypto::random_array<kClientNonceSize>()};
  impl->client_payload.request_hint = options.request_hint;
  impl->eid_key = derive_eid_key(link.link_secret, impl->client_payload.client_nonce.bytes);
  impl->fixed_ephemeral = std::move(options.ephemeral);
  return ClientSession(std::move(impl));
}

HandshakeFlow ClientSession::flow() const { return impl_->flow; }
State ClientSession::state() const { return impl_->state; }
const std::string& ClientSession::qr_url() const { return impl_->url; }
const qr::QrPayload& ClientSession::qr_payload() const { return *impl_->payload; }
const TunnelId& ClientSession::tunnel_id() const { return impl_->tunnel_id; }
ByteView ClientSession::contact_id() const { return impl_->contact_id; }
std::string ClientSession::client_payload_header() const { return impl_->client_payload.header_value(); }
uint16_t ClientSession::linked_domain_id() const { return impl_->linked_domain; }
const std::optional<PostHandshakeMessage>& ClientSession::post_handshake() const { return impl_->post_handshake; }
const std::optional<HandshakeHash>& ClientSession::handshake_hash() const { return impl_->hash; }

namespace {

Result<SessionOutput> send_message1(ClientSession::Impl& s) {
  ByteView secret = s.flow == HandshakeFlow::qr ? ByteView(s.qr_secret) : s.link_secret.view();
  SecretBytes psk = derive_psk(secret, s.advert_plaintext);
  if (s.flow == HandshakeFlow::qr) {
    s.initiator.emplace(HandshakeInitiator::for_qr(psk, *s.identity, std::move(s.fixed_ephemeral)));
  } else {
    s.initiator.emplace(HandshakeInitiator::for_linked(psk, *s.phone_key, std::move(s.fixed_ephemeral)));
  }
  s.fixed_ephemeral.reset();
  s.state = State::awaiting_handshake;
  SessionOutput out;
  out.to_send.push_back(s.initiator->message1());
  return out;
}

}  // namespace

SessionOutput ClientSession::on_advert(ByteView service_data) {
  auto& s = *impl_;
  SessionOutput out;
  if (s.advert_seen || s.state == State::failed) return out;
  Bytes key(service_data.begin(), service_data.end());
  if (s.seen_adverts.count(key)) return out;  // a repeat of a non-matching advert
  // Anyone nearby can send endless distinct adverts: remember a bounded number (forgetting
  // them all only costs a trial decryption per repeat).
  if (s.seen_adverts.size() >= kMaxSeenAdverts) s.seen_adverts.clear();
  s.seen_adverts.insert(key);
  auto plaintext = trial_decrypt_advert(s.eid_key, service_data);
  if (!plaintext) return out;
  AdvertMatched match;
  if (s.flow == HandshakeFlow::qr) {
    auto contents = AdvertContents::parse(*plaintext);
    if (!contents) return out;  // reserved byte or unknown domain: not usable, keep scanning
    match.routing_id = contents->routing_id;
    match.domain_id = contents->domain_id;
  } else {
    match.domain_id = s.linked_domain;
  }
  s.advert_plaintext = *plaintext;
  s.advert_seen = true;
  s.seen_adverts.clear();
  out.events.push_back(match);
  if (s.state == State::awaiting_advert) s.state = State::awaiting_tunnel;
  if (s.tunnel_open) {
    auto m1 = send_message1(s);
    if (m1) out.append(std::move(m1).value());
  }
  return out;
}

Result<SessionOutput> ClientSession::on_tunnel_open() {
  auto& s = *impl_;
  if (s.tunnel_open || (s.state != State::awaiting_advert && s.state != State::awaiting_tunnel)) {
    return make_error(SessionError::wrong_state, "the tunnel was opened twice");
  }
  if (s.flow == HandshakeFlow::qr && !s.advert_seen) {
    return make_error(SessionError::wrong_state,
                      "the QR flow connects to the tunnel only after the advert names the routing ID");
  }
  s.tunnel_open = true;
  if (s.advert_seen) return send_message1(s);
  return SessionOutput{};
}

namespace {

Result<SessionOutput> handle_update(ClientSession::Impl& s, ByteView payload) {
  SessionOutput out;
  auto linking = parse_update_payload(payload);
  if (!linking) {
    // Chromium closes here; libwebauthn logs and carries on. A broken Update must not end
    // a transaction whose answer may still come, so report it and continue.
    out.events.push_back(LinkingIgnored{linking.error().message});
    return out;
  }
  if (!linking->has_value()) return out;  // padding only
  if (s.flow != HandshakeFlow::qr) {
    out.events.push_back(LinkingIgnored{"linking information on a linked connection is ignored (docs/protocol.md §10.2)"});
    return out;
  }
  if (s.linking_processed) {
    out.events.push_back(LinkingIgnored{"a second linking update in one transaction is ignored"});
    return out;
  }
  s.linking_processed = true;
  auto info = parse_linking_map(**linking);
  if (!info) {
    out.events.push_back(LinkingIgnored{info.error().message});
    return out;
  }
  if (!verify_linking_signature(*info, *s.identity, *s.hash)) {
    out.events.push_back(LinkingIgnored{"the linking information's handshake signature does not verify"});
    return out;
  }
  out.events.push_back(LinkingReceived{std::move(info).value()});
  return out;
}

}  // namespace

Result<SessionOutput> ClientSession::on_message(ByteView message) {
  auto& s = *impl_;
  SessionOutput out;
  switch (s.state) {
    case State::awaiting_advert:
    case State::awaiting_tunnel:
      // Linked flow: the tunnel server's connect signal may arrive before the advert.
      if (s.flow == HandshakeFlow::linked && s.tunnel_open && message.size() == 1 && message[0] == kConnectSignal) {
        out.events.push_back(PhoneConnected{});
        return out;
      }
      return s.fail(SessionError::protocol_violation,
                    "the tunnel sent data before the handshake started (" + std::to_string(message.size()) +
                        " bytes)");
    case State::awaiting_handshake: {
      if (s.flow == HandshakeFlow::linked && message.size() == 1 && message[0] == kConnectSignal) {
        out.events.push_back(PhoneConnected{});
        return out;
      }
      auto result = s.initiator->process_message2(message);
      s.initiator.reset();
      if (!result) return s.fail(SessionError::handshake_failed, "handshake failed: " + result.error().message);
      s.hash = result->handshake_hash;
      s.crypter.emplace(result->keys, Crypter::Role::client);
      s.state = State::awaiting_post_handshake;
      out.events.push_back(HandshakeComplete{result->handshake_hash});
      return out;
    }
    case State::awaiting_post_handshake: {
      auto plaintext = s.crypter->decrypt(message);
      if (!plaintext) {
        return s.fail(SessionError::post_handshake_failed,
                      "the phone's first message did not decrypt: " + plaintext.error().message);
      }
      auto phm = parse_post_handshake(*plaintext);
      if (!phm) return s.fail(SessionError::post_handshake_failed, phm.error().message);
      if (!phm->supports_ctap()) {
        return s.fail(SessionError::no_ctap, "the phone does not offer CTAP (features: only digital credentials)");
      }
      s.post_handshake = *phm;
      s.state = State::ready;
      if (phm->revision == 0 && phm->linking_map && s.flow == HandshakeFlow::qr) {
        // Revision 0 carries linking in the post-handshake map itself.
        cbor::Map wrapper{{1, *phm->linking_map}};
        auto linked = handle_update(s, cbor::encode(cbor::Value(wrapper)));
        if (linked) out.append(std::move(linked).value());
      }
      out.events.push_back(PostHandshakeReceived{std::move(phm).value()});
      return out;
    }
    case State::ready:
    case State::awaiting_response:
    case State::shut_down: {
      auto plaintext = s.crypter->decrypt(message);
      if (!plaintext) {
        return s.fail(SessionError::decrypt_failed, "a message from the phone did not decrypt: " + plaintext.error().message);
      }
      if (s.post_handshake->revision == 0) {
        // Revision 0: no type byte; the plaintext is the CTAP response.
        if (s.state != State::awaiting_response || plaintext->empty()) {
          return s.fail(SessionError::protocol_violation, "an unsolicited message from a revision-0 phone");
        }
        s.state = State::ready;
        out.events.push_back(CtapResponse{(*plaintext)[0], Bytes(plaintext->begin() + 1, plaintext->end())});
        return out;
      }
      auto frame = parse_frame(*plaintext);
      if (!frame) return s.fail(SessionError::protocol_violation, frame.error().message);
      switch (frame->type) {
        case MessageType::update:
          return handle_update(s, frame->payload);
        case MessageType::ctap:
          if (s.state != State::awaiting_response) {
            return s.fail(SessionError::protocol_violation, "the phone sent a CTAP response nobody asked for");
          }
          if (frame->payload.empty()) {
            return s.fail(SessionError::protocol_violation, "the phone's CTAP response has no status byte");
          }
          s.state = State::ready;
          out.events.push_back(CtapResponse{frame->payload[0], Bytes(frame->payload.begin() + 1, frame->payload.end())});
          return out;
        case MessageType::shutdown:
          return s.fail(SessionError::protocol_violation, "the phone sent a Shutdown message, which only clients may send");
        case MessageType::json:
          return s.fail(SessionError::protocol_violation, "the phone sent a JSON reply to a CTAP request");
      }
      return out;
    }
    case State::closed:
    case State::failed:
      return make_error(SessionError::wrong_state, "the session has ended");
  }
  return out;
}

Result<SessionOutput> ClientSession::send_ctap(uint8_t command, ByteView params) {
  auto& s = *impl_;
  if (s.state != State::ready) {
    return make_error(SessionError::wrong_state, std::string("cannot send a CTAP command while ") +
                                                     std::string(client_state_name(s.state)));
  }
  SessionOutput out;
  if (command == 0x04 && params.empty() && s.post_handshake->get_info) {
    out.events.push_back(CtapResponse{0x00, *s.post_handshake->get_info});
    return out;
  }
  Bytes body = concat(ByteView(&command, 1), params);
  Bytes plaintext = s.post_handshake->revision == 0 ? body : encode_frame(MessageType::ctap, body);
  auto ct = s.crypter->encrypt(plaintext);
  if (!ct) return s.fail(SessionError::protocol_violation, ct.error().message);
  s.state = State::awaiting_response;
  out.to_send.push_back(std::move(ct).value());
  return out;
}

Result<SessionOutput> ClientSession::shutdown() {
  auto& s = *impl_;
  SessionOutput out;
  if (s.state == State::shut_down || s.state == State::closed || s.state == State::failed) return out;
  if (!s.crypter) {
    s.state = State::closed;  // nothing established: just close the socket
    return out;
  }
  if (s.post_handshake && s.post_handshake->revision >= 1) {
    auto ct = s.crypter->encrypt(encode_frame(MessageType::shutdown, {}));
    if (ct) out.to_send.push_back(std::move(ct).value());
  }
  s.state = State::shut_down;
  return out;
}

Status ClientSession::on_tunnel_closed() {
  auto& s = *impl_;
  State was = s.state;
  s.state = State::closed;
  s.crypter.reset();
  switch (was) {
    case State::shut_down:
    case State::ready:
    case State::closed:
      return {};
    case State::awaiting_response:
      return make_error(SessionError::peer_closed, "the phone closed the connection before answering");
    case State::awaiting_handshake:
      return make_error(SessionError::peer_closed,
                        "the tunnel closed during the handshake (the phone gave up, or the tunnel server ended it)");
    case State::awaiting_post_handshake:
      return make_error(SessionError::peer_closed, "the phone closed the connection right after the handshake");
    case State::failed:
      return make_error(SessionError::peer_closed, "the session had already failed");
    default:
      return make_error(SessionError::peer_closed, "the tunnel closed before the phone connected");
  }
}

std::optional<std::string> ClientSession::keylog_line() const {
  const auto& s = *impl_;
  if (!s.initiator && !s.hash) return std::nullopt;
  nlohmann::json j;
  j["flow"] = s.flow == HandshakeFlow::qr ? "qr" : "linked";
  if (s.flow == HandshakeFlow::qr) {
    j["qr_url"] = s.url;
    j["qr_secret"] = hex_encode(s.qr_secret);
    auto scalar = s.identity->private_scalar();
    j["client_static_private"] = hex_encode(scalar.view());
  } else {
    j["link_secret"] = hex_encode(s.link_secret.view());
    j["client_nonce"] = s.client_payload.client_nonce.hex();
    j["phone_public_key"] = hex_encode(s.phone_key->uncompressed());
  }
  if (s.initiator) {
    auto e = s.initiator->ephemeral().private_scalar();
    j["client_ephemeral_private"] = hex_encode(e.view());
  }
  return j.dump();
}

std::string_view client_state_name(ClientSession::State state) {
  switch (state) {
    case State::awaiting_advert: return "waiting for the phone's BLE advert";
    case State::awaiting_tunnel: return "connecting to the tunnel";
    case State::awaiting_handshake: return "waiting for the handshake reply";
    case State::awaiting_post_handshake: return "waiting for the phone's first message";
    case State::ready: return "ready";
    case State::awaiting_response: return "waiting for the phone's answer";
    case State::shut_down: return "shut down";
    case State::closed: return "closed";
    case State::failed: return "failed";
  }
  return "unknown";
}

}  // namespace hybrid
