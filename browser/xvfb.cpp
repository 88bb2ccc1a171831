#include "browser/xvfb.h"

#include <thread>

namespace hybrid::browser {

Result<std::unique_ptr<Xvfb>> Xvfb::start(const std::string& program, const std::string& log_path,
                                          std::chrono::milliseconds timeout, int width, int height) {
  // -displayfd 1: Xvfb writes the display number it chose on our stdout pipe when ready.
  std::vector<std::string> argv = {program, "-displayfd", "1", "-screen", "0",
                                   std::to_string(width) + "x" + std::to_string(height) + "x24",
                                   "-nolisten", "tcp", "-noreset", "+extension", "XTEST"};
  HYBRID_TRY(auto p, demo::ChildProcess::spawn(argv, log_path));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string& out = p.read_stdout();
    if (auto nl = out.find('\n'); nl != std::string::npos) {
      std::string n = out.substr(0, nl);
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) {
        return make_error("Xvfb printed no display number; see " + log_path);
      }
      return std::unique_ptr<Xvfb>(new Xvfb(std::move(p), ":" + n));
    }
    if (auto st = p.poll()) return make_error("Xvfb exited (" + std::to_string(*st) + ") before it was ready; see " + log_path);
    if (std::chrono::steady_clock::now() >= deadline) {
      p.terminate();
      return make_error("Xvfb was not ready within " + std::to_string(timeout.count() / 1000) + " s; see " + log_path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Xvfb::~Xvfb() { process_.terminate(std::chrono::milliseconds(3000)); }

}  // namespace hybrid::browser
