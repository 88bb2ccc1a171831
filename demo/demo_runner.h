// `hybrid demo`: everything on localhost in one process (a private dbus-daemon with the
// virtual air, a tunnel server, the kiosk and its web page), then narrated scripted visits
// by software phones (`hybrid phone` child processes): a synced passkey registered and used,
// a device-bound attested one under an attestation-enforced profile, and refusals under a
// device-bound-only profile and a provider block list. Then the kiosk stays up for people
// to try until stopped; with `once`, it stops after the visits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "demo/kiosk_rp.h"

namespace hybrid::demo {

struct DemoOptions {
  bool once = false;                  // run the visits, stop, report
  std::string listen = "127.0.0.1:0"; // the kiosk page
  std::string dir;                    // keep the demo's files here (default: a temp dir, removed)
  std::string policy_path;            // default: the built-in demo policy
  std::string program;                // the hybrid binary (the phones are its `phone` command)
  std::chrono::milliseconds pace{4000};  // pause after each visit (so a watcher can read the page)
  std::chrono::milliseconds visit_timeout{60000};
  std::chrono::milliseconds qr_timeout{60000};
  std::chrono::milliseconds think_time{0};  // the phones wait this long before answering, like a person
  bool terminal_qr = true;            // draw the first QR code in the terminal
  bool website_visits = true;         // visits to the website in Chromium (`hybrid browser`)
  std::string chromium;               // the Chromium program for those (default: chromium on $PATH)
  std::FILE* out = stdout;            // the narration
};

// One scripted visit and the outcome it must have.
struct ScriptedVisit {
  std::string title;
  std::string why;
  CeremonyKind kind = CeremonyKind::sign_in;
  std::string user;          // registration: the account
  std::string phone;         // which software phone (its store) answers
  std::string phone_kind;    // "synced" / "device-bound"
  OutcomeKind expect = OutcomeKind::signed_in;
  std::string expect_user;
  std::string expect_rule;   // refusals
  std::string expect_profile;
  std::string expect_passkey_kind;
  std::optional<bool> expect_attested;
};
std::vector<ScriptedVisit> scripted_visits();

struct VisitReport {
  std::string title;
  bool ok = false;
  std::string outcome;       // outcome kind, or what went wrong
  std::string rule;
  std::string detail;        // the kiosk's status line, or why the visit failed
  double seconds = 0;
};

struct DemoResult {
  bool ok = false;            // every visit as expected, nothing failed to start
  bool cancelled = false;     // stopped by a signal
  std::string error;          // set when the demo could not start
  std::vector<VisitReport> visits;
};

// Blocks until done (`once`) or until `stop` becomes true. Every process and thread it
// started is stopped before it returns.
DemoResult run_demo(const DemoOptions& options, const std::atomic<bool>& stop);

}  // namespace hybrid::demo
