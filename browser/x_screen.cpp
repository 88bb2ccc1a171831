#include "browser/x_screen.h"

#include <X11/XKBlib.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
// Xlib defines Status as a macro; this file means hybrid::Status.
#undef Status

#include <atomic>
#include <mutex>

namespace hybrid::browser {
namespace {

// Xlib's default handlers end the process; a failed grab must be an error value instead.
std::atomic<int> g_x_errors{0};
int on_x_error(Display*, XErrorEvent*) {
  ++g_x_errors;
  return 0;
}

void on_io_exit(Display*, void* data) {
  // Called when the server is gone; returning keeps the process (and its cleanup) alive.
  static_cast<std::atomic<bool>*>(data)->store(false);
}

void install_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    XInitThreads();
    XSetErrorHandler(on_x_error);
  });
}

int shift_of(unsigned long mask) {
  int s = 0;
  if (!mask) return 0;
  while (!(mask & 1)) {
    mask >>= 1;
    ++s;
  }
  return s;
}

}  // namespace

struct XScreen::Impl {
  Display* dpy = nullptr;
  std::atomic<bool> connected{true};
  ~Impl() {
    if (dpy && connected) XCloseDisplay(dpy);
  }
};

XScreen::XScreen(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XScreen::~XScreen() = default;

Result<std::unique_ptr<XScreen>> XScreen::open(const std::string& display) {
  install_handlers();
  auto impl = std::make_unique<Impl>();
  impl->dpy = XOpenDisplay(display.c_str());
  if (!impl->dpy) return make_error("cannot open the X display " + display + " (is Xvfb running there?)");
  XSetIOErrorExitHandler(impl->dpy, on_io_exit, &impl->connected);
  return std::unique_ptr<XScreen>(new XScreen(std::move(impl)));
}

bool XScreen::alive() const { return impl_->connected; }

Result<qr::GreyImage> XScreen::grab() {
  if (!impl_->connected) return make_error("the X server is gone");
  Display* dpy = impl_->dpy;
  const int screen = DefaultScreen(dpy);
  const Window root = RootWindow(dpy, screen);
  const int w = DisplayWidth(dpy, screen), h = DisplayHeight(dpy, screen);
  XImage* img = XGetImage(dpy, root, 0, 0, static_cast<unsigned>(w), static_cast<unsigned>(h), AllPlanes, ZPixmap);
  if (!img) return make_error("could not grab the screen (XGetImage)");
  qr::GreyImage out;
  out.width = w;
  out.height = h;
  out.pixels.resize(static_cast<size_t>(w) * static_cast<size_t>(h));
  const int rs = shift_of(img->red_mask), gs = shift_of(img->green_mask), bs = shift_of(img->blue_mask);
  const bool fast = img->bits_per_pixel == 32 && img->byte_order == LSBFirst && img->red_mask == 0xff0000 &&
                    img->green_mask == 0xff00 && img->blue_mask == 0xff;
  for (int y = 0; y < h; ++y) {
    const auto* row = reinterpret_cast<const uint8_t*>(img->data + static_cast<ptrdiff_t>(y) * img->bytes_per_line);
    for (int x = 0; x < w; ++x) {
      unsigned long p;
      if (fast) {
        p = static_cast<unsigned long>(row[4 * x]) | static_cast<unsigned long>(row[4 * x + 1]) << 8 |
            static_cast<unsigned long>(row[4 * x + 2]) << 16;
      } else {
        p = XGetPixel(img, x, y);
      }
      const unsigned r = static_cast<unsigned>((p & img->red_mask) >> rs) & 0xff;
      const unsigned g = static_cast<unsigned>((p & img->green_mask) >> gs) & 0xff;
      const unsigned b = static_cast<unsigned>((p & img->blue_mask) >> bs) & 0xff;
      out.pixels[static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)] =
          static_cast<uint8_t>((r * 77 + g * 150 + b * 29) >> 8);
    }
  }
  XDestroyImage(img);
  return out;
}

Status XScreen::press_return() {
  if (!impl_->connected) return make_error("the X server is gone");
  Display* dpy = impl_->dpy;
  int event_base, error_base, major, minor;
  if (!XTestQueryExtension(dpy, &event_base, &error_base, &major, &minor)) {
    return make_error("the X server has no XTEST extension");
  }
  const KeyCode code = XKeysymToKeycode(dpy, XK_Return);
  if (!code) return make_error("no key code for Return");
  XTestFakeKeyEvent(dpy, code, True, 0);
  XTestFakeKeyEvent(dpy, code, False, 0);
  XFlush(dpy);
  return {};
}

}  // namespace hybrid::browser
