// A child process for tests: argv, stdout through a pipe (read line by line with a
// timeout), stderr inherited, killed on destruction. Every wait is bounded.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hybrid::testing {

inline std::string hybrid_binary() {
  const char* b = std::getenv("HYBRID_BINARY");
  if (!b || !*b) throw std::runtime_error("HYBRID_BINARY is not set (run the test through ctest)");
  return b;
}

class Subprocess {
 public:
  // `extra_env` entries ("NAME=value") are added to this process's environment.
  explicit Subprocess(std::vector<std::string> argv, std::vector<std::string> extra_env = {}) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<char*> cenv;
    for (char** e = environ; *e; ++e) cenv.push_back(*e);
    for (auto& e : extra_env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(fds[1], STDOUT_FILENO);
      execve(cargv[0], cargv.data(), cenv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
  }
  ~Subprocess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      wait_exit(std::chrono::milliseconds(2000));
    }
    if (out_ >= 0) close(out_);
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of stdout, or nullopt on EOF / timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      int r = poll(&p, 1, static_cast<int>(left.count()));
      if (r <= 0) continue;
      char chunk[4096];
      ssize_t n = read(out_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Reads stdout until EOF or timeout.
  std::string read_all(std::chrono::milliseconds timeout) {
    std::string all;
    while (auto line = read_line(timeout)) all += *line + "\n";
    return all + buf_;
  }

  void signal(int sig) {
    if (pid_ > 0 && !exited_) kill(pid_, sig);
  }

  // The exit code (128+signal when killed), or nullopt if still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    if (exited_) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
  bool exited_ = false;
  int status_ = -1;
};

}  // namespace hybrid::testing
