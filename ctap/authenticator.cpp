#include "ctap/authenticator.h"

#include <fmt/format.h>

#include "base/log.h"
#include "crypto/p256.h"
#include "crypto/primitives.h"
#include "ctap/cose_key.h"

namespace hybrid::ctap {
namespace {

constexpr size_t kCredentialIdLength = 32;

uint8_t kind_flags(PasskeyKind kind) {
  return kind == PasskeyKind::synced ? (flags::kBackupEligible | flags::kBackedUp) : 0;
}

// A request's pinUvAuthParam: phones offer no PIN/UV auth protocol (UV happens on the
// phone), so only the zero-length "touch" probe of CTAP 2.1 §6.1.2 step 1 has a meaning.
Status check_pin_uv_auth(const std::optional<Bytes>& param, const std::optional<uint64_t>& protocol,
                         UserApprover& approver, const RpEntity& rp) {
  if (!param) return {};
  if (param->empty()) {
    approver.approve_presence(rp, nullptr);
    return ctap_error(StatusCode::pin_not_set, "this authenticator has no PIN (it verifies users itself)");
  }
  if (!protocol) return ctap_error(StatusCode::missing_parameter, "pinUvAuthParam without pinUvAuthProtocol");
  return ctap_error(StatusCode::invalid_parameter,
                    fmt::format("PIN/UV auth protocol {} is not supported (getInfo lists none)", *protocol));
}

}  // namespace

struct SoftwareAuthenticator::PendingAssertions {
  std::string rp_id;
  ClientDataHash client_data_hash{};
  std::vector<Bytes> remaining;  // credential ids, in the order they are handed out
  bool up = true;
  bool uv = false;
  std::optional<PrfRequest> prf;
  int64_t expires_at_ms = 0;
};

AuthenticatorConfig AuthenticatorConfig::for_kind(PasskeyKind kind) {
  AuthenticatorConfig c;
  c.kind = kind;
  if (kind == PasskeyKind::synced) {
    c.aaguid = kSoftwarePhoneSyncedAaguid;
    c.attestation = AttestationMode::none;
  } else {
    c.aaguid = kSoftwarePhoneDeviceBoundAaguid;
    c.attestation = AttestationMode::packed_x5c;
  }
  return c;
}

SoftwareAuthenticator::SoftwareAuthenticator(CredentialStore& store, AuthenticatorConfig config,
                                             UserApprover& approver)
    : store_(store), config_(std::move(config)), approver_(approver) {}

SoftwareAuthenticator::~SoftwareAuthenticator() = default;

int64_t SoftwareAuthenticator::now_ms() const { return now_monotonic_ms(config_.monotonic_ms); }

int64_t SoftwareAuthenticator::now_s() const { return now_unix_seconds(config_.unix_seconds); }

GetInfoResponse SoftwareAuthenticator::get_info() const {
  GetInfoResponse info;
  info.versions = {"FIDO_2_0", "FIDO_2_1"};
  info.extensions = {std::string(kExtPrf)};
  info.aaguid = config_.aaguid;
  info.options = {{"rk", true}, {"up", true}, {"uv", true}, {"plat", false}};
  info.transports = {"hybrid", "internal"};
  return info;
}

Bytes SoftwareAuthenticator::get_info_cbor() const { return get_info().encode(); }

Result<AttestationIdentity> SoftwareAuthenticator::attestation_identity() {
  if (identity_) return *identity_;
  auto stored = store_.attestation();
  if (stored) {
    auto ext = stored->batch.aaguid_extension();
    if (ext.ok() && *ext && **ext == config_.aaguid) {
      identity_ = std::move(stored);
      return *identity_;
    }
    log::warn("ctap", "the stored attestation certificate names another AAGUID; issuing a new per-install CA");
  }
  auto fresh = AttestationIdentity::generate(config_.aaguid, config_.provider_name);
  auto st = store_.set_attestation(fresh);
  if (!st.ok()) return ctap_error(StatusCode::other, "cannot save the attestation identity: " + st.error().message);
  log::info("ctap", "created a per-install attestation CA and batch certificate");
  identity_ = std::move(fresh);
  return *identity_;
}

Result<MakeCredentialResponse> SoftwareAuthenticator::make_credential(const MakeCredentialRequest& req) {
  // Algorithm: ES256 is the only one made here.
  bool es256 = false;
  for (const auto& p : req.pub_key_cred_params)
    if (p.type == kPublicKeyType && p.alg == kAlgEs256) es256 = true;
  if (!es256) {
    return ctap_error(StatusCode::unsupported_algorithm, "none of pubKeyCredParams is ES256 (-7), the only algorithm here");
  }
  HYBRID_TRY_STATUS(check_pin_uv_auth(req.pin_uv_auth_param, req.pin_uv_auth_protocol, approver_, req.rp));
  if (req.up && !*req.up) return ctap_error(StatusCode::invalid_option, "makeCredential cannot be done without user presence");
  if (req.enterprise_attestation) {
    return ctap_error(StatusCode::invalid_parameter, "enterprise attestation is not supported");
  }

  // excludeList: an existing credential of this RP means "already registered here".
  for (const auto& d : req.exclude_list) {
    if (d.is_public_key() && store_.find(req.rp.id, d.id)) {
      approver_.approve_presence(req.rp, &req.user);  // CTAP: collect presence before saying so
      return ctap_error(StatusCode::credential_excluded, "this phone already holds a passkey in the excludeList");
    }
  }

  const bool want_uv = config_.always_verify_user || (req.uv && *req.uv);
  const bool approved = want_uv ? approver_.verify_user(req.rp, &req.user) : approver_.approve_presence(req.rp, &req.user);
  if (!approved) return ctap_error(StatusCode::operation_denied, "the user did not approve creating the passkey");

  std::optional<AttestationIdentity> identity;
  if (config_.attestation == AttestationMode::packed_x5c) {
    HYBRID_TRY(auto id, attestation_identity());
    identity = std::move(id);
  }

  auto key = crypto::P256KeyPair::generate();
  StoredCredential cred;
  cred.id = crypto::random_bytes(kCredentialIdLength);
  cred.rp_id = req.rp.id;
  cred.rp_name = req.rp.name;
  cred.user = req.user;
  cred.private_key = key.private_scalar();
  cred.cred_random_with_uv = SecretBytes(crypto::random_bytes(32));
  cred.cred_random_without_uv = SecretBytes(crypto::random_bytes(32));
  cred.kind = config_.kind;
  cred.sign_count = 0;
  cred.created_at = now_s();
  cred.cred_protect = req.cred_protect;

  AuthenticatorData ad;
  ad.rp_id_hash = rp_id_hash(req.rp.id);
  ad.flags = flags::kUserPresent | (want_uv ? flags::kUserVerified : 0) | kind_flags(config_.kind);
  ad.sign_count = 0;
  ad.attested = AttestedCredentialData{config_.aaguid, cred.id, encode_cose_key(key.public_key())};
  cbor::Map ext_out;
  if (req.hmac_secret) ext_out.set(kExtHmacSecret, true);
  if (req.cred_protect) ext_out.set(kExtCredProtect, *req.cred_protect);
  if (!ext_out.empty()) ad.extensions = ext_out;

  MakeCredentialResponse resp;
  resp.auth_data = ad.encode();
  switch (config_.attestation) {
    case AttestationMode::none:
      resp.fmt = std::string(kFmtNone);
      resp.att_stmt = none_statement();
      break;
    case AttestationMode::packed_self:
      resp.fmt = std::string(kFmtPacked);
      resp.att_stmt = packed_self_statement(key, resp.auth_data, req.client_data_hash);
      break;
    case AttestationMode::packed_x5c:
      resp.fmt = std::string(kFmtPacked);
      resp.att_stmt = packed_x5c_statement(*identity, resp.auth_data, req.client_data_hash);
      break;
  }
  if (req.prf) {
    PrfOutput out;
    out.enabled = true;
    if (req.prf->eval) {
      out.results = evaluate_prf(want_uv ? cred.cred_random_with_uv : cred.cred_random_without_uv, *req.prf->eval);
    }
    cbor::Map unsigned_out;
    unsigned_out.set(kExtPrf, out.to_cbor());
    resp.unsigned_extension_outputs = std::move(unsigned_out);
  }

  // Stored (and on disk) before the response leaves: an acknowledged passkey is never lost.
  auto st = store_.add(std::move(cred));
  if (!st.ok()) return ctap_error(StatusCode::key_store_full, "cannot save the new passkey: " + st.error().message);
  log::info("ctap", "created a {} passkey (attestation {})", passkey_kind_name(config_.kind),
            attestation_mode_name(config_.attestation));
  return resp;
}

Result<GetAssertionResponse> SoftwareAuthenticator::assert_with(const StoredCredential& credential,
                                                               const ClientDataHash& cdh, bool up, bool uv,
                                                               const std::optional<PrfRequest>& prf) {
  auto key = crypto::P256KeyPair::from_private_scalar(credential.private_key);
  if (!key.ok()) return ctap_error(StatusCode::other, "a stored private key is unusable");
  uint32_t count = credential.sign_count;
  if (credential.kind == PasskeyKind::device_bound) {
    // Synced passkeys keep 0 (their copies cannot agree on a counter); device-bound ones count.
    count = credential.sign_count + 1;
    auto st = store_.set_sign_count(credential.id, count);
    if (!st.ok()) return ctap_error(StatusCode::other, "cannot save the signature counter: " + st.error().message);
  }
  AuthenticatorData ad;
  ad.rp_id_hash = rp_id_hash(credential.rp_id);
  ad.flags = (up ? flags::kUserPresent : 0) | (uv ? flags::kUserVerified : 0) | kind_flags(credential.kind);
  ad.sign_count = count;
  GetAssertionResponse resp;
  resp.auth_data = ad.encode();
  resp.signature = key->sign_es256(concat(resp.auth_data, cdh));
  resp.credential = CredentialDescriptor{std::string(kPublicKeyType), credential.id, std::nullopt};
  UserEntity user;
  user.id = credential.user.id;
  if (uv) {  // CTAP 2.1: names only after user verification
    user.name = credential.user.name;
    user.display_name = credential.user.display_name;
  }
  resp.user = std::move(user);
  if (prf) {
    if (const PrfSalts* salts = prf->salts_for(credential.id)) {
      PrfOutput out;
      out.results = evaluate_prf(uv ? credential.cred_random_with_uv : credential.cred_random_without_uv, *salts);
      cbor::Map unsigned_out;
      unsigned_out.set(kExtPrf, out.to_cbor());
      resp.unsigned_extension_outputs = std::move(unsigned_out);
    }
  }
  return resp;
}

Result<GetAssertionResponse> SoftwareAuthenticator::get_assertion(const GetAssertionRequest& req) {
  pending_.reset();
  const RpEntity rp{req.rp_id, std::nullopt};
  HYBRID_TRY_STATUS(check_pin_uv_auth(req.pin_uv_auth_param, req.pin_uv_auth_protocol, approver_, rp));
  const bool want_up = !req.up || *req.up;
  const bool want_uv = config_.always_verify_user || (req.uv && *req.uv);

  // Candidates: the allowList's credentials held here, else every discoverable one.
  std::vector<const StoredCredential*> candidates;
  const bool has_allow_list = !req.allow_list.empty();
  if (has_allow_list) {
    for (const auto& d : req.allow_list) {
      if (!d.is_public_key()) continue;
      if (const StoredCredential* c = store_.find(req.rp_id, d.id)) {
        bool dup = false;
        for (auto* x : candidates) dup = dup || x == c;
        if (!dup) candidates.push_back(c);
      }
    }
  } else {
    candidates = store_.for_rp(req.rp_id);
  }
  // credProtect: level 3 needs UV; level 2 needs UV or an allowList naming the credential.
  std::erase_if(candidates, [&](const StoredCredential* c) {
    const uint64_t level = c->cred_protect.value_or(1);
    if (level >= 3) return !want_uv;
    if (level == 2) return !want_uv && !has_allow_list;
    return false;
  });

  if (candidates.empty()) {
    if (want_up) approver_.approve_presence(rp, nullptr);  // CTAP: do not reveal absence without a touch
    return ctap_error(StatusCode::no_credentials, "this phone has no passkey for this site");
  }

  const UserEntity* only_user = candidates.size() == 1 ? &candidates.front()->user : nullptr;
  if (want_uv || want_up) {
    const bool ok = want_uv ? approver_.verify_user(rp, only_user) : approver_.approve_presence(rp, only_user);
    if (!ok) return ctap_error(StatusCode::operation_denied, "the user did not approve the sign-in");
  }

  if (has_allow_list || candidates.size() == 1) {
    return assert_with(*candidates.front(), req.client_data_hash, want_up, want_uv, req.prf);
  }

  // Several discoverable accounts: let the person pick, or hand them out one by one.
  std::vector<UserEntity> accounts;
  for (auto* c : candidates) accounts.push_back(c->user);
  const AccountChoice choice = approver_.select_account(rp, accounts);
  if (choice.kind == AccountChoice::Kind::declined) {
    return ctap_error(StatusCode::operation_denied, "the user picked no account");
  }
  if (choice.kind == AccountChoice::Kind::chosen && choice.index < candidates.size()) {
    HYBRID_TRY(auto resp, assert_with(*candidates[choice.index], req.client_data_hash, want_up, want_uv, req.prf));
    resp.user_selected = true;
    return resp;
  }
  HYBRID_TRY(auto first, assert_with(*candidates.front(), req.client_data_hash, want_up, want_uv, req.prf));
  first.number_of_credentials = candidates.size();
  auto pending = std::make_unique<PendingAssertions>();
  pending->rp_id = req.rp_id;
  pending->client_data_hash = req.client_data_hash;
  for (size_t i = 1; i < candidates.size(); ++i) pending->remaining.push_back(candidates[i]->id);
  pending->up = want_up;
  pending->uv = want_uv;
  pending->prf = req.prf;
  pending->expires_at_ms = now_ms() + config_.next_assertion_timeout_ms;
  pending_ = std::move(pending);
  return first;
}

Result<GetAssertionResponse> SoftwareAuthenticator::get_next_assertion() {
  if (!pending_ || pending_->remaining.empty()) {
    pending_.reset();
    return ctap_error(StatusCode::not_allowed, "getNextAssertion without a getAssertion that found several accounts");
  }
  if (now_ms() > pending_->expires_at_ms) {
    pending_.reset();
    return ctap_error(StatusCode::not_allowed, "getNextAssertion came too late (the accounts list expired)");
  }
  Bytes id = pending_->remaining.front();
  pending_->remaining.erase(pending_->remaining.begin());
  const StoredCredential* c = store_.find(pending_->rp_id, id);
  if (!c) {
    pending_.reset();
    return ctap_error(StatusCode::not_allowed, "the next account was removed meanwhile");
  }
  // Re-arm the timer for the next one (CTAP 2.1 §6.3).
  pending_->expires_at_ms = now_ms() + config_.next_assertion_timeout_ms;
  auto resp = assert_with(*c, pending_->client_data_hash, pending_->up, pending_->uv, pending_->prf);
  if (pending_->remaining.empty()) pending_.reset();
  return resp;
}

Status SoftwareAuthenticator::selection() {
  if (!approver_.approve_presence(RpEntity{"", std::nullopt}, nullptr)) {
    return ctap_error(StatusCode::operation_denied, "the user did not select this phone");
  }
  return {};
}

Bytes SoftwareAuthenticator::process(ByteView request) {
  auto fail = [](const Error& e, std::string_view what) {
    const uint8_t s = status_of(e);
    log::info("ctap", "{} → {}: {}", what, status_description(s), e.message);
    return Bytes{s};
  };
  if (request.empty()) return fail(ctap_error(StatusCode::invalid_length, "empty CTAP request"), "request");
  const uint8_t cmd = request[0];
  const ByteView params = request.subspan(1);
  const std::string_view name = command_name(cmd);
  if (cmd != static_cast<uint8_t>(Command::get_next_assertion)) pending_.reset();
  log::debug("ctap", "{} ({} parameter bytes)", name, params.size());
  try {
    switch (static_cast<Command>(cmd)) {
      case Command::get_info: {
        if (!params.empty()) return fail(ctap_error(StatusCode::invalid_length, "getInfo takes no parameters"), name);
        return concat(Bytes{0x00}, get_info_cbor());
      }
      case Command::make_credential: {
        auto req = MakeCredentialRequest::decode(params);
        if (!req.ok()) return fail(req.error(), name);
        auto resp = make_credential(*req);
        if (!resp.ok()) return fail(resp.error(), name);
        return concat(Bytes{0x00}, resp->encode());
      }
      case Command::get_assertion: {
        auto req = GetAssertionRequest::decode(params);
        if (!req.ok()) return fail(req.error(), name);
        auto resp = get_assertion(*req);
        if (!resp.ok()) return fail(resp.error(), name);
        return concat(Bytes{0x00}, resp->encode());
      }
      case Command::get_next_assertion: {
        if (!params.empty()) {
          return fail(ctap_error(StatusCode::invalid_length, "getNextAssertion takes no parameters"), name);
        }
        auto resp = get_next_assertion();
        if (!resp.ok()) return fail(resp.error(), name);
        return concat(Bytes{0x00}, resp->encode());
      }
      case Command::selection: {
        auto st = selection();
        if (!st.ok()) return fail(st.error(), name);
        return Bytes{0x00};
      }
      default:
        return fail(ctap_error(StatusCode::invalid_command, fmt::format("command 0x{:02x} is not supported", cmd)),
                    "request");
    }
  } catch (const std::exception& e) {
    // OpenSSL internal failures surface as exceptions; the phone answers, it does not crash.
    return fail(ctap_error(StatusCode::other, std::string("internal error: ") + e.what()), name);
  }
}

}  // namespace hybrid::ctap
