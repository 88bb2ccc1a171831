// The demo's visits to the kiosk's website in a real browser: `hybrid browser` (a child
// process: Chromium on Xvfb, wired to the demo's own hybrid stack, with the screen-reading
// phone) opens http://localhost:PORT/site?auto=…, the page runs navigator.credentials
// .create()/.get(), and the website's relying party records the outcome, which must be the
// expected one. Without Chromium the demo says so and skips these visits only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "demo/child_process.h"
#include "demo/demo_runner.h"
#include "demo/website_rp.h"

namespace hybrid::demo {

struct WebsiteVisitSpec {
  std::string title;
  std::string why;
  CeremonyKind kind = CeremonyKind::sign_in;
  std::string user;  // registration
  OutcomeKind expect = OutcomeKind::signed_in;
  std::string expect_user;
  std::string expect_rule;
  std::string expect_profile;
  std::string expect_passkey_kind;
};
std::vector<WebsiteVisitSpec> website_visits();

// `hybrid browser` for the demo, started early so that Chromium's start-up overlaps the
// kiosk's visits.
class DemoBrowser {
 public:
  // `chromium` empty: "chromium" on $PATH.
  static Result<std::unique_ptr<DemoBrowser>> start(const std::string& program, const std::string& store,
                                                    const std::string& log_path, const std::string& chromium);
  ~DemoBrowser();  // SIGTERM to `hybrid browser`, which stops everything it started

  // Waits for the ready line. Error: why it did not start (message from `hybrid browser`);
  // `missing` says it was a program that is not installed.
  Result<uint16_t> wait_ready(std::chrono::milliseconds timeout, const std::atomic<bool>& stop, bool& missing);
  // False once `hybrid browser` has exited (Chromium or Xvfb died, it stopped everything).
  bool alive() { return !process_.poll().has_value(); }

 private:
  explicit DemoBrowser(ChildProcess p) : process_(std::move(p)) {}
  ChildProcess process_;
};

struct WebsiteVisitContext {
  WebsiteRelyingParty& website;
  std::string site_url;  // http://localhost:PORT/site
  uint16_t devtools_port = 0;
  std::chrono::milliseconds timeout{60000};
  const std::atomic<bool>& stop;
  std::FILE* out;
  DemoBrowser* browser = nullptr;  // a visit fails at once when it is gone
  std::string browser_log;
};

VisitReport run_website_visit(WebsiteVisitContext& c, const WebsiteVisitSpec& v, int number);
// The reports for visits that could not run ("skipped", counted as expected).
VisitReport skipped_website_visit(const WebsiteVisitSpec& v, const std::string& why);

}  // namespace hybrid::demo
