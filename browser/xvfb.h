// A private X server (Xvfb) for Chromium when there is no display: Chromium's hybrid QR
// code is a native dialog that headless mode renders nowhere, so the browser runs on a
// virtual screen that the screen-reading phone can look at. Xvfb picks a free display
// number itself (-displayfd) and removes its socket and lock file when stopped.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "demo/child_process.h"

namespace hybrid::browser {

class Xvfb {
 public:
  // `program`: the Xvfb binary; `log_path`: its stderr.
  static Result<std::unique_ptr<Xvfb>> start(const std::string& program, const std::string& log_path,
                                             std::chrono::milliseconds timeout, int width = 1280, int height = 900);
  ~Xvfb();  // SIGTERM (so that it removes /tmp/.X11-unix/X<n> and /tmp/.X<n>-lock), then reaps

  const std::string& display() const { return display_; }  // ":<n>"
  // The exit status once it died (a crash), else nullopt.
  std::optional<int> poll() { return process_.poll(); }
  pid_t pid() const { return process_.pid(); }

 private:
  Xvfb(demo::ChildProcess p, std::string display) : process_(std::move(p)), display_(std::move(display)) {}
  demo::ChildProcess process_;
  std::string display_;
};

}  // namespace hybrid::browser
