// The browser's screen as a camera sees it, and a finger on its keyboard: one connection
// to an X server (Xvfb) that grabs the root window as an 8-bit grey image (XGetImage) and
// presses keys through the XTEST extension. One object per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "qr/scanner.h"

namespace hybrid::browser {

class XScreen {
 public:
  // `display` like ":99". Errors name the display and what to check.
  static Result<std::unique_ptr<XScreen>> open(const std::string& display);
  ~XScreen();
  XScreen(const XScreen&) = delete;
  XScreen& operator=(const XScreen&) = delete;

  Result<qr::GreyImage> grab();
  // Press and release Return on whatever window has the focus (Chromium's account picker).
  Status press_return();
  // False once the connection to the X server broke (the server is gone).
  bool alive() const;

 private:
  struct Impl;
  explicit XScreen(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybrid::browser
