#include "demo/website_visits.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>
#include <thread>

#include "demo/devtools_tabs.h"

namespace hybrid::demo {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void line(std::FILE* out, const std::string& s) {
  std::fputs(s.c_str(), out);
  std::fputc('\n', out);
  std::fflush(out);
}

std::string page_sentence(const VisitOutcome& o) {
  const std::string who = o.display_name.empty() ? o.user_name : o.display_name;
  switch (o.kind) {
    case OutcomeKind::registered: return "Passkey created for " + who + ".";
    case OutcomeKind::signed_in: return "Signed in as " + who + ".";
    case OutcomeKind::refused: return "Refused: " + o.reason;
    case OutcomeKind::failed: return "Failed: " + o.reason;
  }
  return "";
}

std::string check(const WebsiteVisitSpec& v, const VisitOutcome& o) {
  if (o.kind != v.expect) {
    return fmt::format("expected {}, got {}{}", outcome_kind_name(v.expect), outcome_kind_name(o.kind),
                       o.reason.empty() ? "" : ": " + o.reason);
  }
  if (!v.expect_user.empty() && o.user_name != v.expect_user) return "expected the account " + v.expect_user;
  if (!v.expect_rule.empty() && o.rule != v.expect_rule) return "expected the rule " + v.expect_rule;
  if (!v.expect_profile.empty() && o.profile != v.expect_profile) return "expected the profile " + v.expect_profile;
  if (!v.expect_passkey_kind.empty() && (!o.passkey || o.passkey->kind != v.expect_passkey_kind)) {
    return "expected a " + v.expect_passkey_kind + " passkey";
  }
  return "";
}

std::string url_part(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

std::vector<WebsiteVisitSpec> website_visits() {
  return {
      {.title = "Dave creates a passkey on the website, in Chromium",
       .why = "The website's page calls navigator.credentials.create(); Chromium shows its hybrid QR code and the "
              "screen-reading phone answers over the virtual air and the TLS tunnel.",
       .kind = CeremonyKind::registration, .user = "dave", .expect = OutcomeKind::registered, .expect_user = "dave",
       .expect_profile = "staff", .expect_passkey_kind = "synced"},
      {.title = "Dave signs in on the website with it",
       .why = "navigator.credentials.get() without a user name; Chromium's account picker is confirmed on screen.",
       .kind = CeremonyKind::sign_in, .expect = OutcomeKind::signed_in, .expect_user = "dave",
       .expect_profile = "staff", .expect_passkey_kind = "synced"},
      {.title = "Bob tries a synced passkey on the website",
       .why = "Same accounts and profiles as the kiosk: 'engineers' admits device-bound passkeys only, and the page "
              "shows the rule's message.",
       .kind = CeremonyKind::registration, .user = "bob", .expect = OutcomeKind::refused, .expect_user = "bob",
       .expect_rule = "passkey_types", .expect_profile = "engineers", .expect_passkey_kind = "synced"},
  };
}

Result<std::unique_ptr<DemoBrowser>> DemoBrowser::start(const std::string& program, const std::string& store,
                                                        const std::string& log_path, const std::string& chromium) {
  std::vector<std::string> argv = {program, "browser", "--store", store, "--kind", "synced", "--approve", "always",
                                   "--xvfb"};
  if (!chromium.empty()) {
    argv.push_back("--chromium");
    argv.push_back(chromium);
  }
  HYBRID_TRY(auto p, ChildProcess::spawn(argv, log_path));
  return std::unique_ptr<DemoBrowser>(new DemoBrowser(std::move(p)));
}

DemoBrowser::~DemoBrowser() { process_.terminate(milliseconds(10000)); }

Result<uint16_t> DemoBrowser::wait_ready(milliseconds timeout, const std::atomic<bool>& stop, bool& missing) {
  missing = false;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const std::string& out = process_.read_stdout();
    if (auto nl = out.find('\n'); nl != std::string::npos) {
      auto j = nlohmann::json::parse(out.substr(0, nl), nullptr, false);
      if (j.is_object() && j.value("ready", false) && j.contains("devtools") && j["devtools"].is_string()) {
        const std::string d = j["devtools"].get<std::string>();
        const auto colon = d.rfind(':');
        if (colon != std::string::npos) return static_cast<uint16_t>(std::stoi(d.substr(colon + 1)));
      }
      const std::string why = j.is_object() && j.contains("error") && j["error"].is_string()
                                  ? j["error"].get<std::string>()
                                  : "hybrid browser did not start";
      auto status = process_.wait(milliseconds(5000));
      missing = status && *status == 3;  // exit code 3: a program is not installed
      return make_error(why);
    }
    if (auto st = process_.poll()) return make_error("hybrid browser exited (" + std::to_string(*st) + ") before it was ready");
    if (stop) return make_error("stopped");
    if (Clock::now() >= deadline) return make_error("Chromium was not ready within " + std::to_string(timeout.count() / 1000) + " s");
    std::this_thread::sleep_for(milliseconds(50));
  }
}

VisitReport skipped_website_visit(const WebsiteVisitSpec& v, const std::string& why) {
  VisitReport r;
  r.title = v.title;
  r.ok = true;
  r.outcome = "skipped";
  r.detail = why;
  return r;
}

VisitReport run_website_visit(WebsiteVisitContext& c, const WebsiteVisitSpec& v, int number) {
  VisitReport r;
  r.title = v.title;
  line(c.out, "");
  line(c.out, fmt::format("{}. {}", number, v.title));
  line(c.out, "   " + v.why);
  const std::string tag = fmt::format("demo-visit-{}", number);
  std::string url = c.site_url + "?tag=" + tag;
  if (v.kind == CeremonyKind::registration) url += "&auto=register&user=" + url_part(v.user);
  else url += "&auto=sign_in";
  const auto start = Clock::now();
  uint64_t seen = 0;
  for (const auto& res : c.website.results_after(0)) seen = std::max(seen, res.seq);
  line(c.out, "   Chromium opens " + url);
  auto tab = open_devtools_tab(c.devtools_port, url, milliseconds(10000));
  if (!tab.ok()) {
    r.outcome = "error";
    r.detail = tab.error().message;
    line(c.out, "   ✗ " + r.detail);
    return r;
  }
  std::optional<WebsiteResult> got;
  bool browser_gone = false;
  while (!got && !c.stop && Clock::now() - start < c.timeout) {
    if (c.browser && !c.browser->alive()) {
      browser_gone = true;
      break;
    }
    for (auto& res : c.website.results_after(seen)) {
      if (res.tag == tag) got = res;
    }
    if (!got) std::this_thread::sleep_for(milliseconds(100));
  }
  (void)close_devtools_tab(c.devtools_port, *tab, milliseconds(5000));
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!got) {
    r.outcome = c.stop ? "cancelled" : "error";
    r.detail = c.stop           ? "stopped"
               : browser_gone ? "`hybrid browser` stopped (Chromium or Xvfb exited); see " + c.browser_log
                              : fmt::format("the page reported no outcome within {} s", c.timeout.count() / 1000);
    line(c.out, "   ✗ " + r.detail);
    return r;
  }
  const VisitOutcome& o = got->outcome;
  r.outcome = std::string(outcome_kind_name(o.kind));
  r.rule = o.rule;
  r.detail = page_sentence(o);
  line(c.out, fmt::format("   page: \"{}\" ({:.1f} s)", r.detail, r.seconds));
  std::string problem = check(v, o);
  if (problem.empty()) {
    r.ok = true;
    line(c.out, "   ✓ as expected");
  } else {
    r.detail = problem;
    line(c.out, "   ✗ " + problem);
  }
  return r;
}

}  // namespace hybrid::demo
