#include "demo/demo_runner.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "ble/private_air.h"
#include "ctap/authenticator.h"
#include "ctap/credential_store.h"
#include "demo/child_process.h"
#include "demo/default_policy.h"
#include "demo/kiosk_app.h"
#include "demo/website_visits.h"
#include "qr/render.h"
#include "tunnel/server.h"

namespace hybrid::demo {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The demo's software phones: one store each, so that each one holds only its owner's
// passkeys (a discoverable sign-in then offers exactly that one).
struct PhoneSpec {
  std::string name, kind;
};
const PhoneSpec kPhones[] = {{"dave", "synced"}, {"alice", "device-bound"}, {"bob", "synced"}, {"carol", "synced"}};

// Everything the demo started, stopped in reverse order whatever happens.
struct Stack {
  std::unique_ptr<ble::PrivateAir> air;  // the virtual air on its private system bus
  std::unique_ptr<tunnel::TunnelServer> tunnel;
  std::unique_ptr<KioskApp> kiosk;
  std::unique_ptr<DemoBrowser> browser;
  std::string dir;
  bool remove_dir = false;

  ~Stack() {
    browser.reset();  // `hybrid browser` stops Chromium, Xvfb and its own air first
    if (kiosk) kiosk->stop();
    kiosk.reset();
    if (tunnel) {
      tunnel->stop();
      tunnel->join();
    }
    tunnel.reset();
    air.reset();
    if (remove_dir && !dir.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
};

class Narrator {
 public:
  explicit Narrator(std::FILE* out) : out_(out) {}
  template <class... Args>
  void line(fmt::format_string<Args...> f, Args&&... args) {
    std::fputs(fmt::format(f, std::forward<Args>(args)...).c_str(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
  }
  void text(std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), out_);
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
};

std::string_view phase_words(Phase p) {
  switch (p) {
    case Phase::preparing: return "preparing";
    case Phase::scan: return "code shown";
    case Phase::nearby: return "phone nearby";
    case Phase::connected: return "connected";
    case Phase::confirm: return "confirm on the phone";
    case Phase::verifying: return "verifying";
    case Phase::done: return "done";
  }
  return "?";
}

// Creates the phone's store and its attestation identity ahead of time, so that the kiosk
// can be told to trust the root before the phone first registers.
Result<ctap::Certificate> prepare_attested_phone(const std::string& store_path) {
  HYBRID_TRY(auto store, ctap::CredentialStore::open(store_path));
  ctap::AutoApprover approver;
  ctap::SoftwareAuthenticator authenticator(store, ctap::AuthenticatorConfig::for_kind(ctap::PasskeyKind::device_bound),
                                            approver);
  HYBRID_TRY(auto identity, authenticator.attestation_identity());
  return identity.root;
}

std::string describe(const VisitOutcome& o) {
  std::string s;
  if (o.passkey) {
    s = fmt::format("{} passkey, {}{}, {}", o.passkey->kind, o.passkey->provider,
                    o.passkey->provider_verified ? "" : " (unverified)",
                    o.passkey->attested ? "attested to a trusted root" : "not attested");
  }
  if (!o.profile.empty()) s += (s.empty() ? "" : ", ") + std::string("profile ") + o.profile;
  if (!o.rule.empty()) s += ", rule " + o.rule;
  return s;
}

std::string check(const ScriptedVisit& v, const VisitOutcome& o) {
  if (o.kind != v.expect) {
    return fmt::format("expected {}, got {}{}", outcome_kind_name(v.expect), outcome_kind_name(o.kind),
                       o.reason.empty() ? "" : ": " + o.reason);
  }
  if (!v.expect_user.empty() && o.user_name != v.expect_user) {
    return fmt::format("expected the account {}, got {}", v.expect_user, o.user_name);
  }
  if (!v.expect_rule.empty() && o.rule != v.expect_rule) {
    return fmt::format("expected the rule {}, got {}", v.expect_rule, o.rule.empty() ? "none" : o.rule);
  }
  if (!v.expect_profile.empty() && o.profile != v.expect_profile) {
    return fmt::format("expected the profile {}, got {}", v.expect_profile, o.profile);
  }
  if (!v.expect_passkey_kind.empty() && (!o.passkey || o.passkey->kind != v.expect_passkey_kind)) {
    return fmt::format("expected a {} passkey", v.expect_passkey_kind);
  }
  if (v.expect_attested && (!o.passkey || o.passkey->attested != *v.expect_attested)) {
    return *v.expect_attested ? "expected an attested passkey" : "expected an unattested passkey";
  }
  return "";
}

struct Context {
  const DemoOptions& options;
  const std::atomic<bool>& stop;
  Narrator& say;
  Kiosk& kiosk;
  std::string tunnel_url;
  std::string dbus_address;
  std::map<std::string, std::string> stores;  // phone → store file
  std::string dir;
};

// Waits for a fresh code of the wanted kind on the kiosk's screen.
std::optional<KioskSnapshot> fresh_code(Context& c, CeremonyKind kind, const std::string& user, uint64_t after) {
  const auto deadline = Clock::now() + milliseconds(15000);
  while (!c.stop && Clock::now() < deadline) {
    auto s = c.kiosk.wait_for(
        [&](const KioskSnapshot& s) {
          return s.phase == Phase::scan && s.mode == kind && s.user == user && s.qr_number > after;
        },
        milliseconds(200));
    if (s) return s;
  }
  return std::nullopt;
}

VisitReport run_visit(Context& c, const ScriptedVisit& v, int number) {
  VisitReport r;
  r.title = v.title;
  c.say.line("");
  c.say.line("{}. {}", number, v.title);
  c.say.line("   {}", v.why);
  const uint64_t before = c.kiosk.snapshot().qr_number;
  if (v.kind == CeremonyKind::registration) {
    if (auto st = c.kiosk.request_registration(v.user); !st.ok()) {
      r.outcome = "error";
      r.detail = st.error().message;
      return r;
    }
  } else {
    c.kiosk.request_sign_in();
  }
  auto shown = fresh_code(c, v.kind, v.user, before);
  if (!shown) {
    r.outcome = c.stop ? "cancelled" : "error";
    r.detail = "the kiosk did not show a fresh code";
    return r;
  }
  const uint64_t code = shown->qr_number;
  const auto start = Clock::now();
  const std::string store = c.stores.at(v.phone);
  std::vector<std::string> argv = {c.options.program, "phone",        "--qr",           shown->qr_url,
                                   "--store",         store,          "--tunnel",       c.tunnel_url,
                                   "--domain-id",     "0",            "--kind",         v.phone_kind,
                                   "--approve",       "auto",         "--dbus-address", c.dbus_address,
                                   "--timeout",       std::to_string(c.options.visit_timeout.count() / 1000)};
  if (c.options.think_time.count() > 0) {
    argv.push_back("--think-time");
    argv.push_back(std::to_string(c.options.think_time.count()));
  }
  const std::string log_path = fmt::format("{}/phone-{}-{}.log", c.dir, number, v.phone);
  c.say.line("   kiosk: \"{}\"", shown->message);
  c.say.line("   phone: {} phone --qr 'FIDO:/…' --store {} --kind {} --approve auto …",
             fs::path(c.options.program).filename().string(), fs::path(store).filename().string(), v.phone_kind);
  auto phone = ChildProcess::spawn(argv, log_path);
  if (!phone.ok()) {
    r.outcome = "error";
    r.detail = "could not start the software phone: " + phone.error().message;
    return r;
  }
  c.say.text("   ");
  c.say.text(phase_words(Phase::scan));
  size_t told = 0;  // trail entries narrated so far (the code being shown is the first)
  for (size_t i = 0; i < shown->trail.size(); ++i) {
    if (shown->trail[i] == Phase::scan) told = i + 1;
  }
  std::optional<KioskSnapshot> done;
  std::optional<Clock::time_point> phone_gone;
  const auto deadline = start + c.options.visit_timeout;
  while (!done) {
    if (c.stop) {
      c.say.line("");
      phone->terminate();
      r.outcome = "cancelled";
      r.detail = "stopped";
      return r;
    }
    auto s = c.kiosk.wait_for(
        [&](const KioskSnapshot& s) { return s.qr_number != code || s.trail.size() > told; }, milliseconds(200));
    if (s && s->qr_number != code) {
      c.say.line("");
      phone->terminate();
      r.outcome = "error";
      r.detail = "the kiosk replaced the code before the phone answered";
      return r;
    }
    if (s) {
      for (; told < s->trail.size(); ++told) {
        c.say.text(" → ");
        c.say.text(phase_words(s->trail[told]));
      }
      if (s->phase == Phase::done) done = s;
      continue;
    }
    if (auto status = phone->poll(); status && !phone_gone) phone_gone = Clock::now();
    const bool phone_quiet_too_long = phone_gone && Clock::now() - *phone_gone > milliseconds(5000);
    if (phone_quiet_too_long || Clock::now() >= deadline) {
      c.say.line("");
      const int status = phone->terminate();
      r.outcome = "error";
      r.detail = phone_quiet_too_long
                     ? fmt::format("the software phone exited ({}) but the kiosk saw no answer; see {}", status, log_path)
                     : fmt::format("no outcome within {} s; see {}", c.options.visit_timeout.count() / 1000, log_path);
      return r;
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  c.say.line(" ({:.1f} s)", r.seconds);
  const int phone_status = phone->wait(milliseconds(15000)).value_or(-1);
  if (phone_status == -1) phone->terminate();
  const VisitOutcome& o = *done->outcome;
  r.outcome = std::string(outcome_kind_name(o.kind));
  r.rule = o.rule;
  r.detail = done->message;
  std::string problem = check(v, o);
  if (problem.empty() && phone_status != 0) {
    problem = fmt::format("the software phone exited with {}; see {}", phone_status, log_path);
  }
  c.say.line("   kiosk: \"{}\"", done->message);
  if (std::string d = describe(o); !d.empty()) c.say.line("          {}", d);
  if (problem.empty()) {
    r.ok = true;
    c.say.line("   ✓ as expected");
  } else {
    r.detail = problem;
    c.say.line("   ✗ {}", problem);
  }
  return r;
}

void wait_or_stop(const std::atomic<bool>& stop, milliseconds d) {
  const auto until = Clock::now() + d;
  while (!stop && Clock::now() < until) std::this_thread::sleep_for(milliseconds(50));
}

}  // namespace

std::vector<ScriptedVisit> scripted_visits() {
  std::vector<ScriptedVisit> v;
  v.push_back({.title = "Dave creates a synced passkey",
               .why = "Dave is staff: profile 'staff' allows synced passkeys.",
               .kind = CeremonyKind::registration, .user = "dave", .phone = "dave", .phone_kind = "synced",
               .expect = OutcomeKind::registered, .expect_user = "dave", .expect_profile = "staff",
               .expect_passkey_kind = "synced", .expect_attested = false});
  v.push_back({.title = "Dave signs in with it",
               .why = "A sign-in without a user name: the phone offers Dave's passkey and the kiosk finds his account.",
               .kind = CeremonyKind::sign_in, .phone = "dave", .phone_kind = "synced",
               .expect = OutcomeKind::signed_in, .expect_user = "dave", .expect_profile = "staff",
               .expect_passkey_kind = "synced"});
  v.push_back({.title = "Alice creates a device-bound, attested passkey",
               .why = "Alice is an admin: profile 'admins' enforces attestation and an AAGUID allow list; the kiosk "
                      "trusts the attestation root of Alice's software phone.",
               .kind = CeremonyKind::registration, .user = "alice", .phone = "alice", .phone_kind = "device-bound",
               .expect = OutcomeKind::registered, .expect_user = "alice", .expect_profile = "admins",
               .expect_passkey_kind = "device-bound", .expect_attested = true});
  v.push_back({.title = "Alice signs in with it",
               .why = "The profile is checked again at every sign-in.",
               .kind = CeremonyKind::sign_in, .phone = "alice", .phone_kind = "device-bound",
               .expect = OutcomeKind::signed_in, .expect_user = "alice", .expect_profile = "admins",
               .expect_passkey_kind = "device-bound", .expect_attested = true});
  v.push_back({.title = "Bob tries a synced passkey",
               .why = "Bob is an engineer: profile 'engineers' admits device-bound passkeys only.",
               .kind = CeremonyKind::registration, .user = "bob", .phone = "bob", .phone_kind = "synced",
               .expect = OutcomeKind::refused, .expect_user = "bob", .expect_rule = "passkey_types",
               .expect_profile = "engineers", .expect_passkey_kind = "synced"});
  v.push_back({.title = "Carol tries a passkey from a blocked provider",
               .why = "Carol is a contractor: profile 'contractors' blocks the software phone's synced provider by "
                      "AAGUID (without attestation an AAGUID is only a claim, but a block list still applies).",
               .kind = CeremonyKind::registration, .user = "carol", .phone = "carol", .phone_kind = "synced",
               .expect = OutcomeKind::refused, .expect_user = "carol", .expect_rule = "key_restrictions.block",
               .expect_profile = "contractors", .expect_passkey_kind = "synced"});
  return v;
}

DemoResult run_demo(const DemoOptions& options, const std::atomic<bool>& stop) {
  DemoResult result;
  Narrator say(options.out);
  Stack stack;

  // Files: the phones' stores, the kiosk's database, the phones' logs.
  if (options.dir.empty()) {
    char tmpl[] = "/tmp/hybrid-demo-XXXXXX";
    if (!mkdtemp(tmpl)) {
      result.error = "cannot create a temporary directory";
      return result;
    }
    stack.dir = tmpl;
    stack.remove_dir = true;
  } else {
    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec) {
      result.error = "cannot create " + options.dir + ": " + ec.message();
      return result;
    }
    stack.dir = fs::absolute(options.dir).string();
  }
  std::map<std::string, std::string> stores;
  for (const auto& p : kPhones) stores[p.name] = fmt::format("{}/phone-{}-{}.json", stack.dir, p.name, p.kind);
  auto root = prepare_attested_phone(stores.at("alice"));
  if (!root.ok()) {
    result.error = "could not create the device-bound phone's attestation identity: " + root.error().message;
    return result;
  }
  const std::string root_path = stack.dir + "/phone-attestation-root.pem";
  std::ofstream(root_path) << root->pem();

  auto policy = options.policy_path.empty() ? default_policy() : webauthn::PasskeyPolicy::load(options.policy_path);
  if (!policy.ok()) {
    result.error = policy.error().message;
    return result;
  }

  // 1. The virtual air: a fake BlueZ on a private D-Bus (which outlives a Ctrl-C until the
  // kiosk and the air are stopped in order).
  auto air = ble::PrivateAir::start();
  if (!air.ok()) {
    result.error = air.error().message;
    return result;
  }
  stack.air = std::move(*air);

  // 2. The tunnel server.
  auto tunnel = tunnel::TunnelServer::create(tunnel::ServerConfig{});
  if (!tunnel.ok()) {
    result.error = "could not start the tunnel server: " + tunnel.error().message;
    return result;
  }
  stack.tunnel = std::move(*tunnel);
  stack.tunnel->start();

  // 3. The kiosk.
  KioskAppConfig kc;
  auto listen = parse_listen(options.listen);
  if (!listen.ok()) {
    result.error = listen.error().message;
    return result;
  }
  kc.listen = *listen;
  kc.tunnel_override = stack.tunnel->url();
  kc.dbus_address = stack.air->address();
  kc.policy = std::move(*policy);
  kc.attestation_roots = {*root};
  kc.db_path = stack.dir + "/kiosk.sqlite";
  kc.kiosk.qr_timeout = options.qr_timeout;
  kc.kiosk.phone = PhoneCommandHint{.program = options.program,
                                    .tunnel_url = stack.tunnel->url(),
                                    .dbus_address = stack.air->address(),
                                    .synced_store = stores.at("dave"),
                                    .device_bound_store = stores.at("alice"),
                                    .domain_id = 0};
  auto kiosk = KioskApp::create(std::move(kc));
  if (!kiosk.ok()) {
    result.error = kiosk.error().message;
    return result;
  }
  stack.kiosk = std::move(*kiosk);
  stack.kiosk->start();

  // Chromium starts now, so that its start-up overlaps the kiosk's visits.
  std::string browser_problem;
  if (options.website_visits) {
    auto b = DemoBrowser::start(options.program, stack.dir + "/browser-phone-synced.json", stack.dir + "/browser.log",
                                options.chromium);
    if (b.ok()) stack.browser = std::move(*b);
    else browser_problem = b.error().message;
  }

  say.line("Hybrid demo: a passkey kiosk, a tunnel server and Bluetooth (the virtual air), all on this machine.");
  say.line("  virtual air (private D-Bus)  {}", stack.air->address());
  say.line("  tunnel server                {}", stack.tunnel->url());
  say.line("  kiosk                        {}   <- open this in a browser", stack.kiosk->url());
  if (!stack.kiosk->site_url().empty()) say.line("  website                      {}", stack.kiosk->site_url());
  say.line("  files                        {}{}", stack.dir, stack.remove_dir ? " (removed at exit)" : "");

  Context c{options, stop, say, stack.kiosk->kiosk(), stack.tunnel->url(), stack.air->address(), stores, stack.dir};
  auto first = fresh_code(c, CeremonyKind::sign_in, "", 0);
  if (!first) {
    result.cancelled = stop;
    result.error = stop ? "" : "the kiosk did not show its first QR code";
    return result;
  }
  if (options.terminal_qr) {
    if (auto t = qr::render_terminal(first->qr_url); t.ok()) {
      say.line("");
      say.line("The kiosk's sign-in code right now (scan it with the `hybrid phone` command the page shows):");
      say.text(*t);
    }
  }
  say.line("");
  say.line("Scripted visits, each by a software phone (`hybrid phone`, a child process):");

  bool all_ok = true;
  int n = 0;
  for (const auto& v : scripted_visits()) {
    VisitReport r = run_visit(c, v, ++n);
    all_ok = all_ok && r.ok;
    result.visits.push_back(r);
    if (stop) break;
    wait_or_stop(stop, options.pace);
  }
  size_t total = scripted_visits().size();
  if (options.website_visits && !stop) {
    const auto specs = website_visits();
    total += specs.size();
    say.line("");
    say.line("Visits to the website ({}) in Chromium, through `hybrid browser` (Xvfb, its own virtual air and TLS",
             stack.kiosk->site_url());
    say.line("tunnel, and a software phone that reads the QR code off Chromium's screen):");
    bool missing = false;
    Result<uint16_t> port = make_error(browser_problem.empty() ? "not started" : browser_problem);
    if (stack.browser) port = stack.browser->wait_ready(std::chrono::milliseconds(90000), stop, missing);
    if (!port.ok()) {
      const std::string why = missing ? "Chromium is not available: " + port.error().message
                                      : "`hybrid browser` did not start: " + port.error().message;
      say.line("  {}", why);
      say.line("  Skipping the {} website visits (see {}/browser.log).", specs.size(), stack.dir);
      for (const auto& v : specs) {
        VisitReport r = skipped_website_visit(v, why);
        if (!missing) {
          r.ok = false;
          r.outcome = "error";
        }
        all_ok = all_ok && r.ok;
        result.visits.push_back(r);
      }
    } else {
      WebsiteVisitContext wc{*stack.kiosk->website(), stack.kiosk->site_url(), *port, options.visit_timeout, stop,
                             options.out, stack.browser.get(), stack.dir + "/browser.log"};
      for (const auto& v : specs) {
        VisitReport r = run_website_visit(wc, v, ++n);
        all_ok = all_ok && r.ok;
        result.visits.push_back(r);
        if (stop) break;
        wait_or_stop(stop, options.pace);
      }
    }
  }
  stack.browser.reset();  // Chromium has done its part
  result.cancelled = stop;
  result.ok = all_ok && result.visits.size() == total;
  say.line("");
  const size_t good = static_cast<size_t>(std::count_if(result.visits.begin(), result.visits.end(),
                                                        [](const VisitReport& r) { return r.ok; }));
  if (!result.visits.empty() && result.visits.back().outcome == "cancelled") {
    say.line("Stopped during visit {}.", result.visits.size());
  } else if (result.visits.size() < total) {
    say.line("Stopped after {} visits; {} went as expected.", result.visits.size(), good);
  } else {
    say.line("{} of {} visits went as expected.", good, total);
  }

  if (!options.once && !stop) {
    const uint64_t shown = stack.kiosk->kiosk().snapshot().qr_number;
    stack.kiosk->kiosk().request_sign_in();
    (void)fresh_code(c, CeremonyKind::sign_in, "", shown);  // the page is ready for the next visitor
    say.line("");
    say.line("The kiosk stays up for you: {}", stack.kiosk->url());
    say.line("Be the phone: the page shows `hybrid phone` command lines for its current code (synced: Dave's phone,");
    say.line("device-bound: Alice's). \"Create a passkey\" works for any new name; the profiles table says what is allowed.");
    say.line("Ctrl-C stops everything.");
    while (!stop) std::this_thread::sleep_for(milliseconds(100));
    result.cancelled = false;
  }
  say.line("Stopping the kiosk, the tunnel server and the virtual air…");
  return result;
}

}  // namespace hybrid::demo
