#include "roles/terminal_approver.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>

#include "base/log.h"
#include "base/printable.h"

namespace hybrid::roles {

using ctap::AccountChoice;
using ctap::RpEntity;
using ctap::UserEntity;
namespace {

// Site-supplied text in a one-line prompt: safe to print (base/printable.h) and short.
std::string shown(std::string_view text) { return hybrid::printable(text, 80); }

std::string who(const UserEntity* user) {
  if (!user) return "";
  if (user->name) return " as " + shown(*user->name);
  if (user->display_name) return " as " + shown(*user->display_name);
  return "";
}

bool is_yes(const std::optional<std::string>& answer) {
  return answer && (*answer == "y" || *answer == "Y" || *answer == "yes" || *answer == "Yes");
}

}  // namespace


TerminalApprover::TerminalApprover(std::chrono::milliseconds timeout, std::optional<std::string> pin,
                                   std::string tty_path)
    : timeout_(timeout), pin_(std::move(pin)), tty_path_(std::move(tty_path)) {}

std::optional<std::string> TerminalApprover::ask(const std::string& prompt, bool echo) {
  int fd = ::open(tty_path_.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    log::warn("ctap", "no terminal to ask the user ({}); refusing", tty_path_);
    return std::nullopt;
  }
  termios saved{};
  const bool is_tty = ::tcgetattr(fd, &saved) == 0;
  if (!echo && is_tty) {
    termios quiet = saved;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    ::tcsetattr(fd, TCSANOW, &quiet);
  }
  ::tcflush(fd, TCIFLUSH);  // answers typed before the question do not count
  const std::string text = prompt + fmt::format(" ({} s) ", timeout_.count() / 1000);
  if (::write(fd, text.data(), text.size()) < 0) {
    ::close(fd);
    return std::nullopt;
  }
  std::string line;
  bool done = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (!done) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) break;
    if (rc == 0) continue;  // the loop re-checks the deadline
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) break;
    if (c == '\n' || c == '\r') {
      done = true;
    } else if (line.size() < 256) {
      line.push_back(c);
    }
  }
  if (!echo && is_tty) {
    ::tcsetattr(fd, TCSANOW, &saved);
    (void)::write(fd, "\n", 1);
  }
  if (!done) {
    const std::string msg = "\nNo answer in time: refused.\n";
    (void)::write(fd, msg.data(), msg.size());
  }
  ::close(fd);
  if (!done) return std::nullopt;
  return line;
}

bool TerminalApprover::approve_presence(const RpEntity& rp, const UserEntity* user) {
  std::string prompt = rp.id.empty() ? std::string("Use this phone for the sign-in on the other device? [y/N]")
                                     : fmt::format("Use a passkey for {}{}? [y/N]", shown(rp.id), who(user));
  return is_yes(ask(prompt, /*echo=*/true));
}

bool TerminalApprover::verify_user(const RpEntity& rp, const UserEntity* user) {
  if (!pin_) {
    return is_yes(ask(fmt::format("Verify it is you and use a passkey for {}{}? Type yes to confirm [yes/N]",
                                  shown(rp.id), who(user)),
                      /*echo=*/true));
  }
  auto answer = ask(fmt::format("Passkey for {}{}: enter the phone's PIN to confirm:", shown(rp.id), who(user)),
                    /*echo=*/false);
  return answer && constant_time_equal(as_bytes(*answer), as_bytes(*pin_));
}

AccountChoice TerminalApprover::select_account(const RpEntity& rp, const std::vector<UserEntity>& accounts) {
  std::string prompt = fmt::format("Several passkeys for {}:\n", shown(rp.id));
  for (size_t i = 0; i < accounts.size(); ++i) {
    const auto& a = accounts[i];
    std::string name = a.name ? shown(*a.name) : std::string("(no name)");
    if (a.display_name) name += " — " + shown(*a.display_name);
    prompt += fmt::format("  {}) {}\n", i + 1, name);
  }
  prompt += "Which one? [number]";
  auto answer = ask(prompt, /*echo=*/true);
  if (!answer) return AccountChoice::decline();
  try {
    size_t pos = 0;
    unsigned long n = std::stoul(*answer, &pos);
    if (pos == answer->size() && n >= 1 && n <= accounts.size()) return AccountChoice::pick(n - 1);
  } catch (const std::exception&) {
  }
  return AccountChoice::decline();
}

}  // namespace hybrid::roles
