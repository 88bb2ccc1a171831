// The software phone's "are you sure?" screen: asks on the controlling terminal
// (/dev/tty) whether to allow each passkey operation, with a timeout (no answer = no).
#pragma once

#include <chrono>

#include "ctap/authenticator.h"

namespace hybrid::roles {

class TerminalApprover : public ctap::UserApprover {
 public:
  explicit TerminalApprover(std::chrono::seconds timeout = std::chrono::seconds(60)) : timeout_(timeout) {}
  bool approve_presence(const ctap::RpEntity& rp, const ctap::UserEntity* user) override;
  bool verify_user(const ctap::RpEntity& rp, const ctap::UserEntity* user) override;

 private:
  bool ask(const std::string& question);
  std::chrono::seconds timeout_;
};

}  // namespace hybrid::roles
