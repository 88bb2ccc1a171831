#include "demo/kiosk.h"

#include <fmt/format.h>

#include <ctime>

#include "base/log.h"
#include "qr/render.h"

namespace hybrid::demo {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr std::string_view kStage = "kiosk";

int64_t ms_until(Clock::time_point t) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return d > 0 ? d : 0;
}

int step_of(Phase p) {
  switch (p) {
    case Phase::preparing:
    case Phase::scan: return 0;
    case Phase::nearby: return 1;
    case Phase::connected: return 2;
    case Phase::confirm: return 3;
    case Phase::verifying:
    case Phase::done: return 4;
  }
  return 0;
}

std::string who(const KioskSnapshot& s, const VisitOutcome* o = nullptr) {
  if (o && !o->display_name.empty()) return o->display_name;
  if (o && !o->user_name.empty()) return o->user_name;
  return display_name_for(s.user);
}

std::string message_for(const KioskSnapshot& s) {
  const bool reg = s.mode == CeremonyKind::registration;
  switch (s.phase) {
    case Phase::preparing: return "Getting a fresh code ready…";
    case Phase::scan:
      return reg ? fmt::format("Scan the code with your phone to create a passkey for {}", who(s))
                 : "Scan the code with your phone to sign in";
    case Phase::nearby: return "Your phone is nearby. Connecting…";
    case Phase::connected: return "Connected to your phone";
    case Phase::confirm: return reg ? "Confirm on your phone to create the passkey" : "Confirm on your phone";
    case Phase::verifying: return "Checking the passkey…";
    case Phase::done: break;
  }
  if (!s.outcome) return "";
  const VisitOutcome& o = *s.outcome;
  switch (o.kind) {
    case OutcomeKind::signed_in: return fmt::format("Signed in as {}", who(s, &o));
    case OutcomeKind::registered: return fmt::format("Passkey created for {}", who(s, &o));
    case OutcomeKind::refused: return fmt::format("Refused: {}", o.reason);
    case OutcomeKind::failed: return fmt::format("That did not work: {}", o.reason);
  }
  return "";
}

}  // namespace

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::preparing: return "preparing";
    case Phase::scan: return "scan";
    case Phase::nearby: return "nearby";
    case Phase::connected: return "connected";
    case Phase::confirm: return "confirm";
    case Phase::verifying: return "verifying";
    case Phase::done: return "done";
  }
  return "preparing";
}

std::string shell_quote(std::string_view s) {
  if (s.empty()) return "''";
  bool plain = true;
  for (char c : s) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                      c == '.' || c == '_' || c == '-' || c == ':' || c == '=' || c == ',' || c == '+' || c == '@';
    plain = plain && safe;
  }
  if (plain) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string phone_command_line(const PhoneCommandHint& hint, std::string_view qr_url, std::string_view kind) {
  const std::string& store = kind == "synced" ? hint.synced_store : hint.device_bound_store;
  std::string cmd = fmt::format("{} phone --qr '{}'", shell_quote(hint.program), qr_url);
  cmd += " --store " + shell_quote(store.empty() ? std::string("phone-") + std::string(kind) + ".json" : store);
  if (!hint.tunnel_url.empty()) cmd += " --tunnel " + shell_quote(hint.tunnel_url);
  cmd += fmt::format(" --domain-id {} --kind {} --approve auto", hint.domain_id, kind);
  if (!hint.dbus_address.empty()) cmd += " --dbus-address " + shell_quote(hint.dbus_address);
  return cmd;
}

Kiosk::Kiosk(KioskRelyingParty& rp, PhoneChannel& channel, KioskOptions options)
    : rp_(rp), channel_(channel), options_(std::move(options)) {
  state_.message = message_for(state_);
}

Kiosk::~Kiosk() { stop(); }

void Kiosk::start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this] { run(); });
}

void Kiosk::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    channel_.cancel();
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Kiosk::set_observer(std::function<void()> on_change) {
  std::lock_guard lock(observer_mu_);
  observer_ = std::move(on_change);
}

void Kiosk::replace_request(std::optional<Request> next) {
  {
    std::lock_guard lock(mu_);
    pending_ = std::move(next);
    channel_.cancel();
  }
  cv_.notify_all();
}

void Kiosk::request_sign_in() { replace_request(Request{CeremonyKind::sign_in, "", ""}); }

Status Kiosk::request_registration(const std::string& user_name, const std::string& display_name) {
  HYBRID_TRY_STATUS(check_account_name(user_name));
  if (display_name.size() > 64) return make_error("a display name has at most 64 characters");
  replace_request(Request{CeremonyKind::registration, user_name, display_name});
  return {};
}

void Kiosk::cancel_visit() { request_sign_in(); }

KioskSnapshot Kiosk::snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

uint64_t Kiosk::seq() const {
  std::lock_guard lock(mu_);
  return state_.seq;
}

std::optional<KioskSnapshot> Kiosk::wait_for(const std::function<bool(const KioskSnapshot&)>& pred,
                                             std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  if (cv_.wait_for(lock, timeout, [&] { return pred(state_); })) return state_;
  return std::nullopt;
}

void Kiosk::update(const std::function<void(KioskSnapshot&)>& change) {
  {
    std::lock_guard lock(mu_);
    change(state_);
    if (state_.trail.empty() || state_.trail.back() != state_.phase) state_.trail.push_back(state_.phase);
    state_.seq++;
    state_.message = message_for(state_);
  }
  cv_.notify_all();
  // Held while calling, so that once set_observer(nullptr) returns no call is running.
  std::lock_guard lock(observer_mu_);
  if (observer_) observer_();
}

void Kiosk::progress(const ChannelProgress& p) {
  if (p.stage == ChannelStage::qr_shown) {
    auto svg = qr::render_svg(p.qr_url, 8);
    {
      std::lock_guard lock(mu_);
      qr_svg_ = svg.ok() ? *svg : "";
      qr_expires_ = Clock::now() + options_.qr_timeout;
    }
    if (!svg.ok()) log::warn(kStage, "could not draw the QR code: {}", svg.error().message);
    uint64_t number = 0;
    CeremonyKind mode = CeremonyKind::sign_in;
    update([&](KioskSnapshot& s) {
      s.qr_url = p.qr_url;
      number = ++s.qr_number;
      mode = s.mode;
      s.phase = Phase::scan;
    });
    log::info(kStage, "QR code {} shown ({})", number, ceremony_kind_name(mode));
    return;
  }
  Phase phase = p.stage == ChannelStage::phone_nearby ? Phase::nearby
                : p.stage == ChannelStage::connected  ? Phase::connected
                                                      : Phase::confirm;
  update([&](KioskSnapshot& s) {
    // Stages only move forward within one visit.
    if (step_of(phase) > step_of(s.phase)) s.phase = phase;
  });
}

void Kiosk::run() {
  log::info(kStage, "kiosk started");
  for (;;) {
    Request req;
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      if (pending_) {
        current_ = std::move(*pending_);
        pending_.reset();
        rotations_ = 0;
      }
      req = current_;
      channel_.clear_cancel();
    }
    visit(req);
  }
  log::info(kStage, "kiosk stopped");
}

void Kiosk::visit(const Request& req) {
  update([&](KioskSnapshot& s) {
    s.mode = req.kind;
    s.user = req.user;
    s.phase = Phase::preparing;
    s.trail.clear();
    s.qr_url.clear();
    s.outcome.reset();
  });
  Result<Ceremony> ceremony = req.kind == CeremonyKind::registration
                                  ? rp_.begin_registration(req.user, req.display_name)
                                  : rp_.begin_sign_in();
  auto finish_with = [&](VisitOutcome outcome) {
    {
      std::lock_guard lock(mu_);
      clears_at_ = Clock::now() + options_.clear_after;
      history_.push_front(json{{"at", static_cast<int64_t>(std::time(nullptr))},
                               {"mode", ceremony_kind_name(req.kind)},
                               {"outcome", outcome.to_json()}});
      while (history_.size() > options_.history_size) history_.pop_back();
    }
    update([&](KioskSnapshot& s) {
      s.phase = Phase::done;
      s.outcome = outcome;
    });
    linger_until_cleared();
    std::lock_guard lock(mu_);
    current_ = Request{};  // the next visitor starts with sign-in
    rotations_ = 0;
  };
  if (!ceremony.ok()) {
    VisitOutcome o;
    o.kind = OutcomeKind::failed;
    o.user_name = req.user;
    o.reason = ceremony.error().message;
    finish_with(std::move(o));
    return;
  }
  auto answer = channel_.exchange(ceremony->request_type, ceremony->ctap_request, options_.qr_timeout,
                                  [this](const ChannelProgress& p) { progress(p); });
  if (!answer.ok()) {
    const Error& e = answer.error();
    if (is_channel_failure(e, ChannelFailure::cancelled)) return;
    if (is_channel_failure(e, ChannelFailure::no_phone)) {
      std::lock_guard lock(mu_);
      ++rotations_;
      log::info(kStage, "no phone answered QR code {}; showing a fresh one", state_.qr_number);
      if (req.kind == CeremonyKind::registration && rotations_ >= options_.registration_rotations) {
        current_ = Request{};
        rotations_ = 0;
      }
      return;
    }
    VisitOutcome o;
    o.kind = OutcomeKind::failed;
    o.user_name = req.user;
    o.display_name = req.user.empty() ? "" : display_name_for(req.user);
    o.reason = e.message;
    finish_with(std::move(o));
    return;
  }
  update([](KioskSnapshot& s) { s.phase = Phase::verifying; });
  finish_with(rp_.finish(*ceremony, answer->ctap_status, answer->ctap_body));
}

bool Kiosk::linger_until_cleared() {
  std::unique_lock lock(mu_);
  return !cv_.wait_until(lock, clears_at_, [&] { return stopping_ || pending_.has_value(); });
}

json Kiosk::state_json() const {
  std::unique_lock lock(mu_);
  const KioskSnapshot s = state_;
  json j;
  j["type"] = "state";
  j["seq"] = s.seq;
  j["title"] = options_.title;
  j["mode"] = ceremony_kind_name(s.mode);
  j["user"] = s.user;
  j["user_display"] = s.user.empty() ? "" : display_name_for(s.user);
  j["phase"] = phase_name(s.phase);
  j["step"] = step_of(s.phase);
  j["message"] = s.message;
  if (!s.qr_url.empty() && s.phase != Phase::done) {
    j["qr"] = json{{"url", s.qr_url},
                   {"svg", qr_svg_},
                   {"number", s.qr_number},
                   {"expires_in_ms", s.phase == Phase::scan ? ms_until(qr_expires_) : 0}};
    j["phone_commands"] = json{{"synced", phone_command_line(options_.phone, s.qr_url, "synced")},
                               {"device_bound", phone_command_line(options_.phone, s.qr_url, "device-bound")}};
  } else {
    j["qr"] = nullptr;
    j["phone_commands"] = nullptr;
  }
  j["outcome"] = s.outcome ? s.outcome->to_json() : json(nullptr);
  j["clears_in_ms"] = s.phase == Phase::done ? ms_until(clears_at_) : 0;
  j["history"] = json(history_);
  lock.unlock();
  j["directory"] = rp_.directory_json();
  j["profiles"] = rp_.profiles_json();
  return j;
}

}  // namespace hybrid::demo
