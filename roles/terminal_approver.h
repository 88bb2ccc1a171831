// A UserApprover that asks the person at the terminal (/dev/tty, so stdout can stay
// machine-readable), for `hybrid phone`. Every question has a timeout; no answer, no
// terminal or anything but yes is a refusal. User verification is a PIN when one is
// configured, else an explicit "yes" (the software phone has no screen lock).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "ctap/authenticator.h"

namespace hybrid::roles {

class TerminalApprover : public ctap::UserApprover {
 public:
  explicit TerminalApprover(std::chrono::milliseconds timeout = std::chrono::seconds(30),
                            std::optional<std::string> pin = std::nullopt, std::string tty_path = "/dev/tty");

  bool approve_presence(const ctap::RpEntity& rp, const ctap::UserEntity* user) override;
  bool verify_user(const ctap::RpEntity& rp, const ctap::UserEntity* user) override;
  // Over hybrid a phone answers with one account, so the person picks here; no valid
  // answer declines.
  ctap::AccountChoice select_account(const ctap::RpEntity& rp, const std::vector<ctap::UserEntity>& accounts) override;

 private:
  // Writes `prompt` and reads one line; nullopt on timeout, EOF or no terminal.
  std::optional<std::string> ask(const std::string& prompt, bool echo);

  std::chrono::milliseconds timeout_;
  std::optional<std::string> pin_;
  std::string tty_path_;
};

// Site-supplied text made safe to show (base/printable.h: no control characters or bidi
// overrides, valid UTF-8), shortened to `max_length` bytes.
std::string printable(std::string_view text, size_t max_length = 80);

}  // namespace hybrid::roles
