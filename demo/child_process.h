// A child process of `hybrid demo` (a software phone): argv, stdout through a pipe, stderr
// into a log file. It dies with the demo (PR_SET_PDEATHSIG) and is stopped (SIGTERM, then
// SIGKILL) and reaped when this object goes, so that nothing is left running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace hybrid::demo {

class ChildProcess {
 public:
  // `stderr_path` empty: inherit stderr. Must be called from a thread that outlives the
  // child (the death signal follows the thread that forked).
  static Result<ChildProcess> spawn(const std::vector<std::string>& argv, const std::string& stderr_path = "");
  // The same with environment changes: each "NAME=value" sets NAME, each "NAME" unsets it.
  static Result<ChildProcess> spawn(const std::vector<std::string>& argv, const std::string& stderr_path,
                                    const std::vector<std::string>& env_changes);
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Exit status (0…255, or 128+signal) once it has exited; nullopt while it runs.
  std::optional<int> poll();
  // Waits up to `timeout` for the exit.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, up to `grace` to exit, then SIGKILL; always reaps. Returns the exit status.
  int terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  // The same for the child's whole process group (it leads one): for programs that start
  // their own helpers (Chromium). After the grace, or once the child is gone, whatever is
  // left of the group gets SIGKILL.
  int terminate_group(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  // Everything the child wrote on stdout so far (non-blocking).
  const std::string& read_stdout();

 private:
  ChildProcess(pid_t pid, int out) : pid_(pid), out_(out) {}
  pid_t pid_ = -1;
  int out_ = -1;
  std::optional<int> status_;
  std::string stdout_;
};

}  // namespace hybrid::demo
