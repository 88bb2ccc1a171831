// The pieces of `hybrid browser` that need no browser: the local CA (a chain OpenSSL
// verifies, the names Chromium and our phone check), Chromium's command line and
// environment (resolver rules that keep everything on the machine), program lookup errors
// that name the package, port checks, and libzbar reading a FIDO:/ code from a "screen".
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "browser/chromium.h"
#include "browser/local_ca.h"
#include "browser/programs.h"
#include "qr/render.h"
#include "qr/scanner.h"

using namespace hybrid;
using namespace hybrid::browser;

namespace {

X509* read_cert(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* c = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return c;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_CASE("the local CA signs a tunnel certificate for the tunnel names and 127.0.0.1", "[browser]") {
  auto ca = make_local_ca({"cable.ua5v.com", "cable.auth.com"}, {"127.0.0.1"});
  REQUIRE(ca.ok());
  X509* root = read_cert(ca->root_pem);
  X509* leaf = read_cert(ca->leaf_pem);  // the chain starts with the leaf
  REQUIRE(root);
  REQUIRE(leaf);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx), X509_PURPOSE_SSL_SERVER);
  CHECK(X509_verify_cert(ctx) == 1);
  CHECK(X509_check_host(leaf, "cable.ua5v.com", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(leaf, "cable.auth.com", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(leaf, "example.com", 0, 0, nullptr) == 0);
  CHECK(X509_check_ip_asc(leaf, "127.0.0.1", 0) == 1);
  CHECK(X509_check_ca(root) >= 1);
  CHECK(X509_check_ca(leaf) == 0);
  CHECK(ca->leaf_key_pem.find("PRIVATE KEY") != std::string::npos);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(leaf);
  X509_free(root);
  // Two sessions never share a CA.
  auto other = make_local_ca({"cable.ua5v.com"}, {});
  REQUIRE(other.ok());
  CHECK(other->root_pem != ca->root_pem);
  CHECK_FALSE(make_local_ca({}, {}).ok());
}

TEST_CASE("Chromium's resolver rules send only the tunnel names here and keep localhost", "[browser]") {
  CHECK(resolver_rules({{"cable.ua5v.com", "127.0.0.1:4000"}, {"cable.auth.com", "127.0.0.1:4000"}}, true) ==
        "MAP cable.ua5v.com 127.0.0.1:4000, MAP cable.auth.com 127.0.0.1:4000, MAP * ~NOTFOUND, EXCLUDE localhost");
  CHECK(resolver_rules({}, false).empty());

  ChromiumOptions o;
  o.program = "/usr/bin/chromium";
  o.user_data_dir = "/x/profile";
  o.home = "/x/home";
  o.tmp_dir = "/x/tmp";
  o.display = ":7";
  o.system_bus = "unix:path=/x/bus";
  o.resolver_maps = {{"cable.ua5v.com", "127.0.0.1:4000"}};
  o.start_url = "http://localhost:1/site";
  auto a = chromium_arguments(o);
  CHECK(a.front() == "/usr/bin/chromium");
  CHECK(a.back() == "http://localhost:1/site");
  CHECK(has(a, "--user-data-dir=/x/profile"));
  CHECK(has(a, "--remote-debugging-address=127.0.0.1"));
  CHECK(has(a, "--remote-debugging-port=0"));
  CHECK(has(a, "--host-resolver-rules=MAP cable.ua5v.com 127.0.0.1:4000, MAP * ~NOTFOUND, EXCLUDE localhost"));
  CHECK(has(a, "--no-sandbox") == (geteuid() == 0));
  CHECK_FALSE(std::any_of(a.begin(), a.end(), [](const std::string& s) { return s.rfind("--headless", 0) == 0; }));
  CHECK_FALSE(std::any_of(a.begin(), a.end(), [](const std::string& s) { return s.rfind("--vmodule", 0) == 0; }));
  o.fido_logs = true;
  a = chromium_arguments(o);
  CHECK(has(a, "--vmodule=*device_event_log*=1,*fido*=3,*cable*=3"));

  auto e = chromium_environment(o);
  CHECK(has(e, "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/x/bus"));
  CHECK(has(e, "HOME=/x/home"));
  CHECK(has(e, "TMPDIR=/x/tmp"));
  CHECK(has(e, "DISPLAY=:7"));
  CHECK(has(e, "WAYLAND_DISPLAY"));  // unset
}

TEST_CASE("a missing program is named with its Debian package", "[browser]") {
  auto p = find_program("/nonexistent/chromium", "Chromium", "chromium");
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().message == "Chromium was not found (looked for '/nonexistent/chromium'): install the Debian package chromium");
  auto q = find_program("surely-not-a-program-here", "Xvfb", "xvfb");
  REQUIRE_FALSE(q.ok());
  CHECK(q.error().message.find("on $PATH") != std::string::npos);
  CHECK(find_program("sh", "a shell", "dash").ok());
}

TEST_CASE("a port in use is seen as such", "[browser]") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(fd, 1) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  CHECK_FALSE(port_is_free(ntohs(a.sin_port)));
  close(fd);
}

TEST_CASE("libzbar reads a FIDO:/ code drawn on a screen-sized grey image", "[browser]") {
  const std::string url = "FIDO:/" + std::string(168, '3');
  auto m = qr::encode_matrix(url);
  REQUIRE(m.ok());
  qr::GreyImage screen;
  screen.width = 1280;
  screen.height = 900;
  screen.pixels.assign(size_t(screen.width) * size_t(screen.height), 0xe0);  // a light page
  const int px = 5, x0 = 500, y0 = 300, quiet = 4;
  for (int y = -quiet; y < m->size + quiet; ++y) {
    for (int x = -quiet; x < m->size + quiet; ++x) {
      const bool dark = x >= 0 && y >= 0 && x < m->size && y < m->size && m->is_dark(x, y);
      for (int dy = 0; dy < px; ++dy) {
        for (int dx = 0; dx < px; ++dx) {
          screen.pixels[size_t(y0 + y * px + dy) * size_t(screen.width) + size_t(x0 + x * px + dx)] = dark ? 0x10 : 0xff;
        }
      }
    }
  }
  qr::QrScanner scanner;
  auto found = scanner.scan(screen);
  REQUIRE(found.size() == 1);
  CHECK(found[0] == url);
  // An empty screen has none; a malformed image is refused, not read out of bounds.
  std::fill(screen.pixels.begin(), screen.pixels.end(), 0xe0);
  CHECK(scanner.scan(screen).empty());
  screen.pixels.resize(10);
  CHECK(scanner.scan(screen).empty());
}
