// TerminalApprover on a real pseudo-terminal: answers, refusals, the PIN, the account
// picker, and the timeout.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "base/log.h"
#include "base/printable.h"
#include "roles/terminal_approver.h"

using namespace hybrid;
using namespace hybrid::ctap;
using hybrid::roles::TerminalApprover;
using namespace std::chrono_literals;

namespace {

struct Pty {
  Pty() {
    char name[128];
    REQUIRE(::openpty(&master, &slave, name, nullptr, nullptr) == 0);
    path = name;
  }
  ~Pty() {
    ::close(master);
    ::close(slave);
  }
  // Types `text` once the question has appeared, and returns what the approver wrote.
  std::string answer_after_prompt(const std::string& text) {
    std::string seen;
    char buf[512];
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (seen.find('?') == std::string::npos && seen.find(':') == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) seen.append(buf, static_cast<size_t>(n));
    }
    std::this_thread::sleep_for(50ms);
    REQUIRE(::write(master, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    return seen;
  }
  int master = -1, slave = -1;
  std::string path;
};

const RpEntity kRp{"example.com", std::nullopt};

}  // namespace

TEST_CASE("ctap terminal approver: asks on the terminal and accepts only yes") {
  log::set_threshold(log::Level::error);
  Pty pty;
  TerminalApprover approver(5s, std::nullopt, pty.path);
  UserEntity user{Bytes{1}, std::string("alice\x1b[31m"), std::nullopt};

  std::string prompt;
  std::thread t([&] { prompt = pty.answer_after_prompt("y\n"); });
  CHECK(approver.approve_presence(kRp, &user));
  t.join();
  CHECK(prompt.find("example.com as alice[31m?") != std::string::npos);  // ESC removed
  CHECK(prompt.find('\x1b') == std::string::npos);

  std::thread t2([&] { pty.answer_after_prompt("n\n"); });
  CHECK_FALSE(approver.approve_presence(kRp, &user));
  t2.join();

  std::thread t3([&] { pty.answer_after_prompt("yes\n"); });
  CHECK(approver.verify_user(kRp, &user));
  t3.join();
}

TEST_CASE("ctap terminal approver: PIN, account picker, timeout, no terminal") {
  log::set_threshold(log::Level::error);
  Pty pty;
  TerminalApprover with_pin(5s, std::string("2468"), pty.path);
  std::thread t([&] { pty.answer_after_prompt("2468\n"); });
  CHECK(with_pin.verify_user(kRp, nullptr));
  t.join();
  std::thread t2([&] { pty.answer_after_prompt("1357\n"); });
  CHECK_FALSE(with_pin.verify_user(kRp, nullptr));
  t2.join();

  TerminalApprover picker(5s, std::nullopt, pty.path);
  std::vector<UserEntity> accounts{UserEntity{Bytes{1}, "a", std::nullopt}, UserEntity{Bytes{2}, "b", "Bee"}};
  std::thread t3([&] { pty.answer_after_prompt("2\n"); });
  auto choice = picker.select_account(kRp, accounts);
  t3.join();
  CHECK(choice.kind == AccountChoice::Kind::chosen);
  CHECK(choice.index == 1);
  std::thread t4([&] { pty.answer_after_prompt("9\n"); });
  CHECK(picker.select_account(kRp, accounts).kind == AccountChoice::Kind::declined);
  t4.join();

  TerminalApprover quick(300ms, std::nullopt, pty.path);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(quick.approve_presence(kRp, nullptr));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 300ms);
  CHECK(took < 3s);

  TerminalApprover nowhere(1s, std::nullopt, "/nonexistent/tty");
  CHECK_FALSE(nowhere.approve_presence(kRp, nullptr));
}

TEST_CASE("terminal approver: the hybrid::printable() it uses strips control characters and shortens") {
  CHECK(hybrid::printable("a\x1b]0;title\x07" "b") == "a]0;titleb");
  CHECK(hybrid::printable(std::string(100, 'x'), 10) == std::string(10, 'x') + "…");
  CHECK(hybrid::printable("naïve") == "naïve");
}
