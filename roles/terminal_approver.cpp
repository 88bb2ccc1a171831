#include "roles/terminal_approver.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>

namespace hybrid::roles {

namespace {
std::string describe(const ctap::RpEntity& rp, const ctap::UserEntity* user) {
  std::string who;
  if (user) who = user->name.value_or(user->display_name.value_or(""));
  return rp.id + (who.empty() ? "" : " (account " + who + ")");
}
}  // namespace

bool TerminalApprover::ask(const std::string& question) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;  // no terminal: nobody can say yes
  std::string prompt = "\n" + question + " [y/N] (" + std::to_string(timeout_.count()) + " s) ";
  (void)!::write(fd, prompt.data(), prompt.size());
  pollfd p{fd, POLLIN, 0};
  bool yes = false;
  if (::poll(&p, 1, static_cast<int>(timeout_.count() * 1000)) == 1) {
    char buf[16] = {};
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    yes = n > 0 && (buf[0] == 'y' || buf[0] == 'Y');
  } else {
    (void)!::write(fd, "\n(no answer: refused)\n", 22);
  }
  ::close(fd);
  return yes;
}

bool TerminalApprover::approve_presence(const ctap::RpEntity& rp, const ctap::UserEntity* user) {
  return ask("Use a passkey for " + describe(rp, user) + "?");
}

bool TerminalApprover::verify_user(const ctap::RpEntity& rp, const ctap::UserEntity* user) {
  return ask("Unlock the phone and use a passkey for " + describe(rp, user) + "?");
}

}  // namespace hybrid::roles
