#include "bridge/ctap_front.h"

#include <algorithm>

#include "base/log.h"
#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "ctap/auth_data.h"
#include "ctap/entities.h"
#include "ctap/member_keys.h"

using namespace std::string_view_literals;

namespace hybrid::bridge {
namespace {

constexpr std::string_view kStage = "bridge";

namespace info_key = ctap::keys::get_info;
namespace ga_key = ctap::keys::get_assertion;
namespace ga_resp_key = ctap::keys::get_assertion_response;
namespace mc_key = ctap::keys::make_credential;


Bytes status_only(CtapStatus s) { return Bytes{uint8_t(s)}; }

CtapStatus phone_error_status(const Error& e) {
  switch (e.as<PhoneError>().value_or(PhoneError::other)) {
    case PhoneError::timeout: return CtapStatus::user_action_timeout;
    case PhoneError::cancelled: return CtapStatus::keepalive_cancel;
    case PhoneError::unavailable:
    case PhoneError::other: break;
  }
  return CtapStatus::other;
}

// Reads an optional boolean option ("up", "uv") from an options map.
// Returns false on a type error.
bool read_option(const cbor::Map* options, std::string_view name, std::optional<bool>* out) {
  if (!options) return true;
  const cbor::Value* v = options->find(name);
  if (!v) return true;
  if (!v->is_bool()) return false;
  *out = v->as_bool();
  return true;
}

const Bytes* descriptor_id(const cbor::Value& descriptor) {
  const cbor::Value* id = descriptor.as_map().find("id"sv);
  return id ? &id->as_bytes() : nullptr;
}

bool list_contains_id(const cbor::Array& list, ByteView id) {
  for (const auto& d : list) {
    const Bytes* did = descriptor_id(d);
    if (did && std::equal(did->begin(), did->end(), id.begin(), id.end())) return true;
  }
  return false;
}

cbor::Map with_entry(const cbor::Map& m, int key, cbor::Value value) {
  cbor::Map out;
  bool replaced = false;
  for (const auto& [k, v] : m) {
    if (k == cbor::Value(key)) {
      out.append_unchecked(k, value);
      replaced = true;
    } else {
      out.append_unchecked(k, v);
    }
  }
  if (!replaced) out.append_unchecked(cbor::Value(key), std::move(value));
  return out;
}

cbor::Map without_entry(const cbor::Map& m, const cbor::Value& key) {
  cbor::Map out;
  for (const auto& [k, v] : m) {
    if (!(k == key)) out.append_unchecked(k, v);
  }
  return out;
}

}  // namespace

std::optional<cbor::Array> strip_transports(const cbor::Array& descriptors, size_t* stripped) {
  cbor::Array out;
  out.reserve(descriptors.size());
  for (const auto& d : descriptors) {
    if (!d.is_map()) return std::nullopt;
    const cbor::Value* id = d.as_map().find("id"sv);
    if (!id || !id->is_bytes()) return std::nullopt;
    const cbor::Value* type = d.as_map().find("type"sv);
    if (type && !type->is_text()) return std::nullopt;
    if (d.as_map().find("transports"sv)) {
      if (stripped) ++*stripped;
      out.emplace_back(without_entry(d.as_map(), cbor::Value("transports")));
    } else {
      out.push_back(d);
    }
  }
  return out;
}

CtapFront::CtapFront(CtapFrontOptions options) : options_(options) {}

Bytes CtapFront::get_info_response() const {
  cbor::Map options{{"rk", true}, {"up", true}, {"uv", true}, {"plat", false}};
  cbor::Map info;
  info.set(info_key::versions, cbor::Array{"FIDO_2_0", "FIDO_2_1"});
  // The phone's own AAGUID shows up in the attestation of each new credential; the
  // bridge itself is no particular model, so it reports the all-zero AAGUID.
  info.set(info_key::aaguid, Bytes(16, 0));
  info.set(info_key::options, std::move(options));
  info.set(info_key::max_msg_size, uint64_t(kMaxMessageSize));
  // No kInfoPinUvAuthProtocols (0x06): phones verify the user themselves and have no PIN
  // protocol; advertising one would make clients run clientPIN against the bridge.
  info.set(info_key::max_credential_count_in_list, options_.max_credential_count_in_list);
  info.set(info_key::max_credential_id_length, options_.max_credential_id_length);
  info.set(info_key::transports, cbor::Array{"hybrid"});
  info.set(info_key::algorithms, cbor::Array{cbor::Map{{"alg", ctap::kAlgEs256}, {"type", "public-key"}}});
  Bytes out{uint8_t(CtapStatus::ok)};
  auto body = cbor::encode(cbor::Value(std::move(info)));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

FrontAction CtapFront::answer(Bytes response) {
  FrontAction a;
  a.respond = std::move(response);
  return a;
}

FrontAction CtapFront::answer_status(CtapStatus status) {
  return answer(status_only(status));
}

FrontAction CtapFront::on_request(ByteView request, TimePoint now) {
  ++stats_.requests;
  if (waiting_ != Waiting::nothing) {
    // CTAPHID admits one request at a time; a second one here is a caller bug. Answer it
    // rather than lose track of the first.
    log::error(kStage, "a CTAP request arrived while another was still in flight");
    return answer_status(CtapStatus::other);
  }
  if (request.empty()) {
    ++stats_.answered_locally;
    return answer_status(CtapStatus::invalid_length);
  }
  const auto command = static_cast<CtapCommand>(request[0]);
  ByteView params = request.subspan(1);
  FrontAction action;
  switch (command) {
    case CtapCommand::get_info:
      log::debug(kStage, "getInfo answered locally");
      action = answer(get_info_response());
      break;
    case CtapCommand::make_credential:
    case CtapCommand::get_assertion: {
      if (params.empty()) {
        action = answer_status(CtapStatus::missing_parameter);
        break;
      }
      cbor::DecodeOptions opts;
      // Clients are supposed to send canonical CBOR but not all do; what is forwarded is
      // re-encoded canonically either way (phones refuse anything else).
      opts.require_canonical = false;
      auto decoded = cbor::decode(params, opts);
      if (!decoded.ok()) {
        log::info(kStage, "refusing a request whose CBOR does not parse: {}", decoded.error().message);
        action = answer_status(CtapStatus::invalid_cbor);
        break;
      }
      if (!decoded->is_map()) {
        action = answer_status(CtapStatus::cbor_unexpected_type);
        break;
      }
      action = command == CtapCommand::get_assertion ? handle_get_assertion(decoded->as_map(), now)
                                                     : handle_make_credential(decoded->as_map(), now);
      break;
    }
    case CtapCommand::selection:
      // "Touch the key you want to use" among several. The bridge has nothing to touch
      // and must not claim a touch that did not happen: it waits until the client cancels
      // (the user picked another key) or the timeout.
      log::info(kStage, "authenticatorSelection: waiting (the bridge cannot be touched)");
      waiting_ = Waiting::selection;
      deadline_ = now + options_.phone_timeout;
      return {};
    case CtapCommand::get_next_assertion:
      // The phone already let the user pick one account (numberOfCredentials is removed
      // from its answers), so there is never a next one.
      action = answer_status(CtapStatus::not_allowed);
      break;
    default:
      log::info(kStage, "CTAP command 0x{:02x} is not offered by the bridge", request[0]);
      action = answer_status(CtapStatus::invalid_command);
      break;
  }
  if (action.respond) ++stats_.answered_locally;
  return action;
}

FrontAction CtapFront::handle_get_assertion(const cbor::Map& params, TimePoint now) {
  const cbor::Value* rp = params.find(ga_key::rp_id);
  const cbor::Value* cdh = params.find(ga_key::client_data_hash);
  if (!rp || !cdh) return answer_status(CtapStatus::missing_parameter);
  if (!rp->is_text() || !cdh->is_bytes()) return answer_status(CtapStatus::cbor_unexpected_type);
  const cbor::Value* options = params.find(ga_key::options);
  if (options && !options->is_map()) return answer_status(CtapStatus::cbor_unexpected_type);
  std::optional<bool> up, uv;
  const cbor::Map* options_map = options ? &options->as_map() : nullptr;
  if (!read_option(options_map, "up", &up) || !read_option(options_map, "uv", &uv)) {
    return answer_status(CtapStatus::cbor_unexpected_type);
  }
  if (params.find(ga_key::pin_uv_auth_param)) return answer_status(CtapStatus::pin_auth_invalid);

  const cbor::Value* allow = params.find(ga_key::allow_list);
  if (allow && !allow->is_array()) return answer_status(CtapStatus::cbor_unexpected_type);
  size_t stripped = 0;
  cbor::Array list;
  if (allow) {
    auto s = strip_transports(allow->as_array(), &stripped);
    if (!s) return answer_status(CtapStatus::cbor_unexpected_type);
    list = std::move(*s);
  }
  const std::string& rp_id = rp->as_text();

  if (up.has_value() && !*up) {
    ++stats_.probes_answered;
    if (list.empty() || options_.probe_answer == ProbeAnswer::no_credentials) {
      log::debug(kStage, "silent probe ({} credentials) answered: no credentials", list.size());
      return answer_status(CtapStatus::no_credentials);
    }
    if (probes_ && probes_->rp_id == rp_id && now < probes_->expires) {
      for (const auto& d : list) {
        if (!list_contains_id(probes_->descriptors, *descriptor_id(d))) probes_->descriptors.push_back(d);
      }
    } else {
      probes_ = ProbeMemory{rp_id, list, {}};
    }
    probes_->expires = now + options_.probe_memory_window;
    log::debug(kStage, "silent probe ({} credentials) answered with a pre-flight match", list.size());
    const auto& first = list.front().as_map();
    cbor::Map credential{{"id", *first.find("id"sv)}, {"type", "public-key"}};
    if (const cbor::Value* type = first.find("type"sv)) credential.set("type", *type);
    auto rp_hash = crypto::sha256(as_bytes(rp_id));
    Bytes auth_data(rp_hash.begin(), rp_hash.end());
    auth_data.insert(auth_data.end(), {0x00, 0x00, 0x00, 0x00, 0x00});  // flags, signCount
    cbor::Map response;
    response.set(ga_resp_key::credential, std::move(credential));
    response.set(ga_resp_key::auth_data, std::move(auth_data));
    response.set(ga_resp_key::signature, Bytes{});
    Bytes out{uint8_t(CtapStatus::ok)};
    auto body = cbor::encode(cbor::Value(std::move(response)));
    out.insert(out.end(), body.begin(), body.end());
    return answer(std::move(out));
  }

  if (cached_ && now < cached_->expires && cached_->rp_id == rp_id &&
      cached_->client_data_hash == cdh->as_bytes() && !list.empty() &&
      list_contains_id(list, cached_->credential_id) && (!uv.value_or(false) || cached_->user_verified)) {
    ++stats_.assertions_reused;
    log::info(kStage, "getAssertion for the same ceremony answered with the phone's last assertion");
    Bytes response = std::move(cached_->response);
    cached_.reset();
    return answer(std::move(response));
  }

  if (!list.empty()) {
    if (auto expanded = expand_from_probes(rp_id, list, now)) list = std::move(*expanded);
  }
  stats_.transports_stripped += stripped;
  PendingAssertion pending{rp_id, cdh->as_bytes(), std::nullopt};
  if (list.size() == 1) pending.single_allowed_id = *descriptor_id(list.front());
  pending_assertion_ = std::move(pending);
  log::info(kStage, "getAssertion goes to the phone (allowList {} entries, {} transports stripped)",
            list.size(), stripped);
  cbor::Map forwarded = allow ? with_entry(params, ga_key::allow_list, std::move(list)) : params;
  return forward(uint8_t(CtapCommand::get_assertion), forwarded, now);
}

FrontAction CtapFront::handle_make_credential(const cbor::Map& params, TimePoint now) {
  const cbor::Value* cdh = params.find(mc_key::client_data_hash);
  const cbor::Value* rp = params.find(mc_key::rp);
  const cbor::Value* user = params.find(mc_key::user);
  const cbor::Value* algs = params.find(mc_key::pub_key_cred_params);
  if (!cdh || !rp || !user || !algs) return answer_status(CtapStatus::missing_parameter);
  if (!cdh->is_bytes() || !rp->is_map() || !user->is_map() || !algs->is_array()) {
    return answer_status(CtapStatus::cbor_unexpected_type);
  }
  const cbor::Value* rp_id = rp->as_map().find("id"sv);
  if (!rp_id) return answer_status(CtapStatus::missing_parameter);
  if (!rp_id->is_text()) return answer_status(CtapStatus::cbor_unexpected_type);
  const cbor::Value* options = params.find(mc_key::options);
  if (options && !options->is_map()) return answer_status(CtapStatus::cbor_unexpected_type);
  std::optional<bool> up;
  if (!read_option(options ? &options->as_map() : nullptr, "up", &up)) {
    return answer_status(CtapStatus::cbor_unexpected_type);
  }
  if (up.has_value() && !*up) return answer_status(CtapStatus::invalid_option);
  if (params.find(mc_key::pin_uv_auth_param)) return answer_status(CtapStatus::pin_auth_invalid);

  const cbor::Value* exclude = params.find(mc_key::exclude_list);
  if (exclude && !exclude->is_array()) return answer_status(CtapStatus::cbor_unexpected_type);
  size_t stripped = 0;
  cbor::Map forwarded = params;
  size_t exclude_size = 0;
  if (exclude) {
    auto list = strip_transports(exclude->as_array(), &stripped);
    if (!list) return answer_status(CtapStatus::cbor_unexpected_type);
    if (!list->empty()) {
      if (auto expanded = expand_from_probes(rp_id->as_text(), *list, now)) list = std::move(expanded);
    }
    exclude_size = list->size();
    forwarded = with_entry(params, mc_key::exclude_list, std::move(*list));
  }
  stats_.transports_stripped += stripped;
  pending_assertion_.reset();
  log::info(kStage, "makeCredential goes to the phone (excludeList {} entries, {} transports stripped)",
            exclude_size, stripped);
  return forward(uint8_t(CtapCommand::make_credential), forwarded, now);
}

std::optional<cbor::Array> CtapFront::expand_from_probes(const std::string& rp_id,
                                                         const cbor::Array& list, TimePoint now) {
  if (!probes_) return std::nullopt;
  ProbeMemory memory = std::move(*probes_);
  probes_.reset();  // one use: the probes belong to the request that follows them
  if (now >= memory.expires || memory.rp_id != rp_id) return std::nullopt;
  for (const auto& d : list) {
    if (!list_contains_id(memory.descriptors, *descriptor_id(d))) return std::nullopt;
  }
  if (memory.descriptors.size() == list.size()) return std::nullopt;
  // The client narrowed its list to what the probes "matched"; the phone gets them all
  // back, the client's choice first.
  cbor::Array out = list;
  for (const auto& d : memory.descriptors) {
    if (!list_contains_id(out, *descriptor_id(d))) out.push_back(d);
  }
  log::debug(kStage, "credential list restored from {} to {} entries seen in silent probes",
             list.size(), out.size());
  return out;
}

FrontAction CtapFront::forward(uint8_t command, const cbor::Map& params, TimePoint now) {
  ++stats_.phone_transactions;
  waiting_ = Waiting::phone;
  deadline_ = now + options_.phone_timeout;
  Bytes request{command};
  auto body = cbor::encode(cbor::Value(params));
  request.insert(request.end(), body.begin(), body.end());
  FrontAction a;
  a.start_phone = std::move(request);
  return a;
}

FrontAction CtapFront::on_phone_result(const PhoneResponse& response, TimePoint now) {
  if (waiting_ != Waiting::phone) return {};  // late: cancelled or timed out already
  waiting_ = Waiting::nothing;
  auto pending = std::move(pending_assertion_);
  pending_assertion_.reset();
  if (!response.ok()) {
    log::warn(kStage, "the phone transaction failed: {}", response.error().message);
    return answer_status(phone_error_status(response.error()));
  }
  Bytes bytes = *response;
  if (bytes.empty()) {
    log::warn(kStage, "the phone sent an empty CTAP response");
    return answer_status(CtapStatus::other);
  }
  if (bytes.size() > kMaxMessageSize) {
    log::error(kStage, "the phone's {}-byte response does not fit CTAPHID's {} bytes", bytes.size(),
               kMaxMessageSize);
    return answer_status(CtapStatus::other);
  }
  log::info(kStage, "the phone answered {} ({} bytes)", ctap::status_description(bytes[0]), bytes.size());
  if (bytes[0] != uint8_t(CtapStatus::ok) || !pending) return answer(std::move(bytes));

  cbor::DecodeOptions opts;
  opts.require_canonical = false;
  auto decoded = cbor::decode(ByteView(bytes).subspan(1), opts);
  if (!decoded.ok() || !decoded->is_map()) return answer(std::move(bytes));  // the client's problem to report
  cbor::Map map = decoded->as_map();
  if (map.find(ga_resp_key::number_of_credentials)) {
    // The phone showed its own account picker; a client that saw numberOfCredentials > 1
    // would ask for authenticatorGetNextAssertion, which a finished hybrid transaction
    // cannot serve.
    map = without_entry(map, cbor::Value(ga_resp_key::number_of_credentials));
    Bytes rewritten{uint8_t(CtapStatus::ok)};
    auto body = cbor::encode(cbor::Value(map));
    rewritten.insert(rewritten.end(), body.begin(), body.end());
    bytes = std::move(rewritten);
  }
  std::optional<Bytes> credential_id = pending->single_allowed_id;
  if (const cbor::Value* cred = map.find(ga_resp_key::credential); cred && cred->is_map()) {
    if (const cbor::Value* id = cred->as_map().find("id"sv); id && id->is_bytes()) credential_id = id->as_bytes();
  }
  bool user_verified = false;
  if (const cbor::Value* ad = map.find(ga_resp_key::auth_data); ad && ad->is_bytes() && ad->as_bytes().size() > 32) {
    user_verified = (ad->as_bytes()[32] & ctap::flags::kUserVerified) != 0;
  }
  if (credential_id) {
    cached_ = CachedAssertion{pending->rp_id, pending->client_data_hash, *credential_id, user_verified,
                              bytes, now + options_.assertion_reuse_window};
  }
  return answer(std::move(bytes));
}

FrontAction CtapFront::on_cancel(TimePoint) {
  ++stats_.cancels;
  FrontAction a = answer_status(CtapStatus::keepalive_cancel);
  a.cancel_phone = waiting_ == Waiting::phone;
  log::info(kStage, "the client cancelled{}", a.cancel_phone ? ": closing the phone transaction" : "");
  waiting_ = Waiting::nothing;
  pending_assertion_.reset();
  return a;
}

FrontAction CtapFront::on_abort() {
  FrontAction a;
  a.cancel_phone = waiting_ == Waiting::phone;
  waiting_ = Waiting::nothing;
  pending_assertion_.reset();
  return a;
}

FrontAction CtapFront::on_timer(TimePoint now) {
  if (waiting_ == Waiting::nothing || now < deadline_) return {};
  ++stats_.timeouts;
  FrontAction a = answer_status(CtapStatus::user_action_timeout);
  a.cancel_phone = waiting_ == Waiting::phone;
  log::warn(kStage, "no answer within {} s: giving up",
            std::chrono::duration_cast<std::chrono::seconds>(options_.phone_timeout).count());
  waiting_ = Waiting::nothing;
  pending_assertion_.reset();
  return a;
}

std::optional<TimePoint> CtapFront::next_deadline() const {
  if (waiting_ == Waiting::nothing) return std::nullopt;
  return deadline_;
}

}  // namespace hybrid::bridge
