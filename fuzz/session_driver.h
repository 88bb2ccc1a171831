// The driver behind hybrid_sessions_fuzzer (QR flow, KNpsk0) and hybrid_linked_fuzzer
// (linked flow, NKpsk0). Deterministic: every key, secret, nonce and advert is derived
// from the first 32 bytes of the input, so a crash reproduces from its input alone.
//
// To get past the AEAD, one side is either the real session class or a scripted peer that
// holds the same traffic keys (it runs the real Noise code with the derived keys), so the
// fuzzer chooses *plaintexts* and encrypts them before the session under test sees them:
//   pair         a real ClientSession and a real AuthenticatorSession; the input picks the
//                CTAP requests and answers and may corrupt messages in flight;
//   real_client  a real ClientSession against a scripted phone that sends chosen
//                post-handshake messages, frames, Updates (linking, correctly signed or
//                not) and CTAP answers;
//   real_phone   a real AuthenticatorSession against a scripted client that sends chosen
//                frames and reads back what the phone answers.
// Invariants checked (abort() = a finding): what a real session sends always decrypts
// with the peer's keys and parses; without corruption, a CTAP request and its answer
// arrive unchanged; a well-formed handshake always completes; the phone's linking
// signature verifies.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <string>

#include "crypto/p256.h"
#include "crypto/primitives.h"
#include "fuzz/invariant.h"
#include "hybrid/advert.h"
#include "hybrid/authenticator_session.h"
#include "hybrid/client_payload.h"
#include "hybrid/client_session.h"
#include "hybrid/crypter.h"
#include "hybrid/derive.h"
#include "hybrid/framing.h"
#include "hybrid/linking.h"
#include "hybrid/noise.h"
#include "hybrid/post_handshake.h"
#include "qr/payload.h"

namespace hybrid::fuzz {

inline Bytes derived_bytes(ByteView seed, std::string_view label, size_t n) {
  return crypto::hkdf_sha256(seed, {}, as_bytes(label), n);
}

// A P-256 key pair whose scalar is derived from the seed (a fixed scalar in the
// astronomically unlikely case that the derived one is out of range).
inline crypto::P256KeyPair derived_key(ByteView seed, std::string_view label) {
  auto k = crypto::P256KeyPair::from_private_scalar(derived_bytes(seed, label, 32));
  if (k) return std::move(*k);
  Bytes one(32, 0);
  one[31] = 1;
  auto fallback = crypto::P256KeyPair::from_private_scalar(one);
  return std::move(*fallback);
}

template <size_t N>
ByteArray<N> derived_array(ByteView seed, std::string_view label) {
  auto b = derived_bytes(seed, label, N);
  ByteArray<N> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

enum class Mode : uint8_t { pair = 0, real_client = 1, real_phone = 2 };

class SessionDriver {
 public:
  SessionDriver(HandshakeFlow flow, const uint8_t* data, size_t size) : flow_(flow), in_(data, size) {
    seed_ = in_.ConsumeBytes<uint8_t>(32);
    seed_.resize(32, 0);
    mode_ = static_cast<Mode>(in_.ConsumeIntegralInRange<uint8_t>(0, 2));
    client_identity_.emplace(derived_key(seed_, "client identity"));
    phone_identity_.emplace(derived_key(seed_, "phone identity"));
    qr_secret_ = derived_array<kQrSecretSize>(seed_, "qr secret");
    link_secret_ = SecretBytes(derived_bytes(seed_, "link secret", 32));
    client_nonce_ = ClientNonce{derived_array<kClientNonceSize>(seed_, "client nonce")};
    routing_id_ = RoutingId{derived_array<kRoutingIdSize>(seed_, "routing id")};
  }

  void run() {
    switch (mode_) {
      case Mode::pair: return run_pair();
      case Mode::real_client: return run_real_client();
      case Mode::real_phone: return run_real_phone();
    }
  }

 private:
  // ---- building the two sides from the seed ----
  ClientSession make_client() {
    if (flow_ == HandshakeFlow::qr) {
      ClientSession::QrOptions o;
      o.request_type = in_.ConsumeBool() ? qr::RequestType::make_credential : qr::RequestType::get_assertion;
      o.offer_linking = in_.ConsumeBool();
      o.now_unix = 1700000000;
      o.identity = derived_key(seed_, "client identity");
      o.secret = qr_secret_;
      o.ephemeral = derived_key(seed_, "client ephemeral");
      return ClientSession::start_qr(std::move(o));
    }
    StoredLink link{in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(1, 48)),
                    derived_bytes(seed_, "link id", 8), link_secret_, phone_identity_->public_key(), "fuzz phone", 0};
    ClientSession::LinkedOptions o;
    o.request_hint = in_.ConsumeBool() ? "mc" : "ga";
    o.client_nonce = client_nonce_;
    o.ephemeral = derived_key(seed_, "client ephemeral");
    return ClientSession::start_linked(link, std::move(o));
  }

  AuthenticatorConfig phone_config() {
    AuthenticatorConfig c;
    // A getInfo of fuzz bytes half of the time; an empty map otherwise.
    c.get_info = in_.ConsumeBool() ? in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 64))
                                   : Bytes{0xa0};
    if (in_.ConsumeBool()) c.features = {};
    c.domain_id = in_.ConsumeIntegralInRange<uint16_t>(0, 1);
    c.send_update = in_.ConsumeIntegralInRange<uint8_t>(0, 3) != 0;
    return c;
  }

  // The phone for `client` (its QR code or its contact request).
  std::optional<AuthenticatorSession> make_phone(const ClientSession& client) {
    auto config = phone_config();
    std::optional<AuthenticatorSession> phone;
    if (flow_ == HandshakeFlow::qr) {
      auto qr = qr::parse_url(client.qr_url());
      if (!qr) violated("the client's own QR code does not parse");
      LinkingOffer offer;
      offer.identity = &*phone_identity_;
      offer.contact_id = derived_bytes(seed_, "contact id", 16);
      offer.link_id = derived_bytes(seed_, "link id", 8);
      offer.link_secret = link_secret_;
      // The phone's name is its owner's (--name): text, so keep it valid UTF-8 here. (With
      // invalid UTF-8 the phone would send an Update the client's CBOR decoder rejects.)
      for (char ch : in_.ConsumeRandomLengthString(40)) offer.name += static_cast<char>(0x20 + (ch & 0x3f));
      phone.emplace(AuthenticatorSession::start_qr(*qr, std::move(config), std::move(offer)));
    } else {
      auto payload = ClientPayload::parse_header(client.client_payload_header());
      if (!payload) violated("the client's own contact payload does not parse");
      phone.emplace(AuthenticatorSession::start_linked(*phone_identity_, link_secret_.view(), *payload, std::move(config)));
    }
    phone->set_advert_plaintext_for_testing(advert_plaintext());
    phone->set_ephemeral_for_testing(derived_key(seed_, "phone ephemeral"));
    return phone;
  }

  AdvertPlaintext advert_plaintext() const {
    if (flow_ == HandshakeFlow::qr) {
      AdvertContents c;
      c.nonce = AdvertNonce{derived_array<kNonceSize>(seed_, "advert nonce")};
      c.routing_id = routing_id_;
      c.domain_id = 0;
      return c.to_plaintext();
    }
    auto p = derived_array<kAdvertPlaintextSize>(seed_, "linked advert");
    p[0] = 0;
    p[14] = 0;
    p[15] = 0;
    return p;
  }

  SecretBytes eid_key() const {
    return flow_ == HandshakeFlow::qr ? derive_eid_key(qr_secret_)
                                      : derive_eid_key(link_secret_.view(), client_nonce_.bytes);
  }
  SecretBytes psk(const AdvertPlaintext& plaintext) const {
    return flow_ == HandshakeFlow::qr ? derive_psk(qr_secret_, plaintext) : derive_psk(link_secret_.view(), plaintext);
  }

  // A plaintext the input chooses: a frame of some type with fuzz payload, or raw bytes.
  Bytes chosen_frame() {
    if (in_.ConsumeBool()) return in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 600));
    auto type = static_cast<MessageType>(in_.ConsumeIntegralInRange<uint8_t>(0, 3));
    Bytes payload = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 300));
    return encode_frame(type, payload);
  }

  // Sometimes flips one bit of a message in flight; returns whether it did.
  bool maybe_corrupt(Bytes& message) {
    if (message.empty() || in_.ConsumeIntegralInRange<uint8_t>(0, 15) != 0) return false;
    size_t i = in_.ConsumeIntegralInRange<size_t>(0, message.size() - 1);
    message[i] ^= static_cast<uint8_t>(1u << in_.ConsumeIntegralInRange<uint8_t>(0, 7));
    return true;
  }

  // ---- pair: both real sessions ----
  void run_pair() {
    ClientSession client = make_client();
    auto phone = make_phone(client);
    std::deque<Bytes> to_phone, to_client;
    auto take = [](std::deque<Bytes>& q, const SessionOutput& out) {
      for (const auto& m : out.to_send) q.push_back(m);
    };
    Advert advert = phone->on_tunnel_ready(routing_id_);
    Bytes advert_bytes(advert.begin(), advert.end());
    bool corrupted = maybe_corrupt(advert_bytes);
    auto seen = client.on_advert(advert_bytes);
    if (!seen.find<AdvertMatched>()) {
      if (!corrupted) violated("the client did not match its own phone's advert");
      return;
    }
    take(to_phone, seen);
    if (auto open = client.on_tunnel_open()) take(to_phone, *open);
    else violated("the client refused on_tunnel_open after the advert");

    std::optional<std::pair<uint8_t, Bytes>> expected_request;
    std::optional<Bytes> expected_response;
    for (int step = 0; step < 48 && in_.remaining_bytes() > 0; ++step) {
      switch (in_.ConsumeIntegralInRange<uint8_t>(0, 6)) {
        case 0:
        case 1:  // deliver client -> phone
          if (!to_phone.empty()) {
            Bytes m = std::move(to_phone.front());
            to_phone.pop_front();
            corrupted |= maybe_corrupt(m);
            auto r = phone->on_message(m);
            if (r) {
              take(to_client, *r);
              if (auto* req = r->find<CtapRequest>(); req && !corrupted && expected_request) {
                if (req->command != expected_request->first || req->params != expected_request->second) {
                  violated("the phone received another CTAP request than the client sent");
                }
              }
            } else if (!corrupted && r.error().is(SessionError::decrypt_failed)) {
              violated("an uncorrupted client message failed to decrypt at the phone");
            }
          }
          break;
        case 2:
        case 3:  // deliver phone -> client
          if (!to_client.empty()) {
            Bytes m = std::move(to_client.front());
            to_client.pop_front();
            corrupted |= maybe_corrupt(m);
            auto r = client.on_message(m);
            if (r) {
              take(to_phone, *r);
              if (auto* resp = r->find<CtapResponse>(); resp && !corrupted && expected_response) {
                Bytes got{resp->status};
                got.insert(got.end(), resp->body.begin(), resp->body.end());
                if (got != *expected_response) violated("the client received another CTAP answer than the phone sent");
              }
            } else if (!corrupted && r.error().is(SessionError::decrypt_failed)) {
              violated("an uncorrupted phone message failed to decrypt at the client");
            }
          }
          break;
        case 4: {  // the client sends a CTAP command
          uint8_t cmd = in_.ConsumeIntegral<uint8_t>();
          Bytes params = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 200));
          if (auto r = client.send_ctap(cmd, params); r && !r->to_send.empty()) {
            expected_request.emplace(cmd, params);
            take(to_phone, *r);
          }
          break;
        }
        case 5: {  // the phone answers
          Bytes answer = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 200));
          if (auto r = phone->send_ctap_response(answer); r && !r->to_send.empty()) {
            expected_response = answer;
            take(to_client, *r);
          }
          break;
        }
        case 6:  // someone ends it
          switch (in_.ConsumeIntegralInRange<uint8_t>(0, 2)) {
            case 0:
              if (auto r = client.shutdown()) take(to_phone, *r);
              break;
            case 1: (void)client.on_tunnel_closed(); break;
            case 2: (void)phone->on_tunnel_closed(); break;
          }
          break;
      }
    }
  }

  // ---- real_client: a scripted phone with the phone's traffic keys ----
  void run_real_client() {
    ClientSession client = make_client();
    const AdvertPlaintext plaintext = advert_plaintext();
    SecretBytes eid = eid_key();
    Advert advert = encrypt_advert(eid.view(), plaintext);
    auto seen = client.on_advert(advert);
    if (!seen.find<AdvertMatched>()) violated("the client did not match a correct advert");
    auto open = client.on_tunnel_open();
    if (!open) violated("the client refused on_tunnel_open after the advert");
    Bytes message1 = !seen.to_send.empty() ? seen.to_send.front()
                     : !open->to_send.empty() ? open->to_send.front() : Bytes{};
    if (message1.empty()) violated("the client sent no handshake message");
    SecretBytes key = psk(plaintext);
    auto handshake = flow_ == HandshakeFlow::qr
                         ? respond_qr_handshake(key.view(), client_identity_->public_key(), message1,
                                                derived_key(seed_, "phone ephemeral"))
                         : respond_linked_handshake(key.view(), *phone_identity_, message1,
                                                    derived_key(seed_, "phone ephemeral"));
    if (!handshake) violated("the client's handshake message was refused by the real responder");
    Crypter crypter(handshake->result.keys, Crypter::Role::phone);
    Bytes message2 = handshake->message2;
    maybe_corrupt(message2);
    if (!client.on_message(message2)) return;

    // What the client sends must decrypt with the phone's keys.
    auto check_outgoing = [&](const SessionOutput& out) {
      for (const auto& m : out.to_send) {
        auto p = crypter.decrypt(m);
        if (!p) violated("a client message did not decrypt with the phone's keys");
        // Revision 0 (§9.3) has no framing: the plaintext is the CTAP command itself.
        const auto& post = client.post_handshake();
        if (post && post->revision == 0) {
          if (p->empty()) violated("a revision-0 client message is empty");
        } else if (!parse_frame(*p)) {
          violated("a client message is not a valid frame");
        }
      }
    };
    bool first = true;
    for (int step = 0; step < 32 && in_.remaining_bytes() > 0; ++step) {
      Bytes plain;
      switch (in_.ConsumeIntegralInRange<uint8_t>(0, 5)) {
        case 0:  // a post-handshake message (the first message the client expects)
          if (in_.ConsumeBool()) {
            Bytes info = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 100));
            plain = in_.ConsumeBool() ? encode_post_handshake(info, {"ctap"}) : encode_post_handshake_rev0(info, {});
          } else {
            plain = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 200));
          }
          break;
        case 1: plain = chosen_frame(); break;
        case 2: {  // an Update with linking data, signed over the real handshake hash or not
          LinkingInfo li;
          li.contact_id = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 40));
          li.link_id = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 16));
          li.link_secret = SecretBytes(in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 40)));
          li.authenticator_public_key = phone_identity_->public_key();
          li.name = in_.ConsumeRandomLengthString(64);
          if (flow_ == HandshakeFlow::qr && in_.ConsumeBool()) {
            li.signature = linking_signature(*phone_identity_, client_identity_->public_key(),
                                             handshake->result.handshake_hash);
          }
          plain = encode_update_message(li);
          break;
        }
        case 3: {  // the client sends a command; the scripted phone reads it
          uint8_t cmd = in_.ConsumeIntegral<uint8_t>();
          Bytes params = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 100));
          if (auto r = client.send_ctap(cmd, params)) check_outgoing(*r);
          continue;
        }
        case 4:
          if (auto r = client.shutdown()) check_outgoing(*r);
          continue;
        case 5: {  // garbage that is not even ciphertext
          Bytes raw = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 64));
          (void)client.on_message(raw);
          continue;
        }
      }
      if (first && in_.ConsumeBool()) plain = encode_post_handshake(Bytes{0xa0}, {"ctap"});
      first = false;
      auto sealed = crypter.encrypt(plain);
      if (!sealed) continue;  // too long to pad
      if (auto r = client.on_message(*sealed)) check_outgoing(*r);
    }
    (void)client.on_tunnel_closed();
  }

  // ---- real_phone: a scripted client with the client's traffic keys ----
  void run_real_phone() {
    ClientSession shape = make_client();  // only for its QR code or contact payload
    auto phone = make_phone(shape);
    Advert advert = phone->on_tunnel_ready(routing_id_);
    SecretBytes eid = eid_key();
    auto plaintext = trial_decrypt_advert(eid.view(), advert);
    if (!plaintext) violated("the phone's advert does not decrypt with the EID key");
    SecretBytes key = psk(*plaintext);
    auto initiator = flow_ == HandshakeFlow::qr
                         ? HandshakeInitiator::for_qr(key.view(), *client_identity_, derived_key(seed_, "client ephemeral"))
                         : HandshakeInitiator::for_linked(key.view(), phone_identity_->public_key(),
                                                          derived_key(seed_, "client ephemeral"));
    auto answer = phone->on_message(initiator.message1());
    if (!answer || answer->to_send.empty()) violated("the phone refused a correct handshake message");
    auto keys = initiator.process_message2(answer->to_send.front());
    if (!keys) violated("the phone's handshake answer does not verify");
    Crypter crypter(keys->keys, Crypter::Role::client);
    // The phone's own messages: post-handshake, then maybe an Update. All must decrypt,
    // and a signed linking map must verify against the handshake hash.
    auto check_incoming = [&](const SessionOutput& out, size_t skip, bool first_is_post_handshake) {
      for (size_t i = skip; i < out.to_send.size(); ++i) {
        auto p = crypter.decrypt(out.to_send[i]);
        if (!p) violated("a phone message did not decrypt with the client's keys");
        if (first_is_post_handshake && i == skip) {
          if (!parse_post_handshake(*p)) violated("the phone's post-handshake message does not parse");
          continue;
        }
        auto frame = parse_frame(*p);
        if (!frame) violated("a phone message is not a valid frame");
        if (frame->type == MessageType::update && flow_ == HandshakeFlow::qr) {
          auto linking = parse_update_payload(frame->payload);
          if (!linking) violated("the phone's Update does not parse");
          if (*linking) {
            auto info = parse_linking_map(**linking);
            if (!info) violated("the phone's linking map does not parse");
            if (!verify_linking_signature(*info, *client_identity_, keys->handshake_hash)) {
              violated("the phone's linking signature does not verify");
            }
          }
        }
      }
    };
    check_incoming(*answer, 1, true);
    for (int step = 0; step < 32 && in_.remaining_bytes() > 0; ++step) {
      switch (in_.ConsumeIntegralInRange<uint8_t>(0, 3)) {
        case 0:
        case 1: {
          auto sealed = crypter.encrypt(chosen_frame());
          if (!sealed) break;
          Bytes m = std::move(*sealed);
          maybe_corrupt(m);
          if (auto r = phone->on_message(m)) check_incoming(*r, 0, false);
          break;
        }
        case 2: {
          Bytes answer_bytes = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 300));
          if (auto r = phone->send_ctap_response(answer_bytes)) check_incoming(*r, 0, false);
          break;
        }
        case 3:
          (void)phone->on_message(in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 64)));
          break;
      }
    }
    (void)phone->on_tunnel_closed();
  }

  HandshakeFlow flow_;
  FuzzedDataProvider in_;
  Bytes seed_;
  Mode mode_ = Mode::pair;
  std::optional<crypto::P256KeyPair> client_identity_, phone_identity_;
  QrSecret qr_secret_{};
  SecretBytes link_secret_;
  ClientNonce client_nonce_;
  RoutingId routing_id_;
};

}  // namespace hybrid::fuzz
