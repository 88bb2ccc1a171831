// `hybrid qr decode|show` run as a separate process ($HYBRID_BINARY): every valid QR
// vector decodes to JSON naming every field with the expected values; every invalid one
// exits 3 (kInvalidInput) with a message saying what is wrong; show's PNG scans back, with
// zbarimg and with `hybrid phone --qr-png` (libzbar in-process).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/exit_codes.h"
#include "tests/support/vector_files.h"

using nlohmann::json;

namespace {

struct Run {
  int status = -1;  // exit code, or -1 if killed
  std::string out;
  std::string err;
};

std::string binary() {
  const char* b = std::getenv("HYBRID_BINARY");
  REQUIRE(b != nullptr);
  return b;
}

// Runs the CLI with `args` (no shell), feeding `input` on stdin; killed after 20 s.
Run run(const std::vector<std::string>& args, const std::string& input = "") {
  int in[2], out[2], err[2];
  REQUIRE(pipe2(in, O_CLOEXEC) == 0);
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  std::string path = binary();
  std::vector<char*> argv{path.data()};
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty()) (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  Run r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 1000) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, size_t(n));
      }
    }
  }
  if (open_fds > 0) kill(pid, SIGKILL);
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A bad command line: kUsage, or one of CLI11's own parse-error codes (100 and up) that
// app/main.cpp passes through unchanged for now.
bool is_usage_error(int status) { return status == hybrid::app::kUsage || status >= 100; }

// The fields `hybrid qr decode` must always print.
const char* const kFields[] = {"public_key", "public_key_uncompressed", "secret", "known_domains",
                               "timestamp", "timestamp_iso", "supports_linking", "request_type",
                               "request_hint", "key6", "unknown_keys", "keys", "cbor",
                               "length_bytes", "length_digits"};

}  // namespace

TEST_CASE("qr cli: decode prints every field of every valid QR vector") {
  size_t decoded = 0;
  for (const auto& c : hybrid::testing::load_vectors("qr", "qr")) {
    if (!c.data.at("valid").get<bool>()) continue;
    INFO(c.file << ": " << c.name);
    auto r = run({"qr", "decode", c.data.at("url").get<std::string>()});
    INFO(r.err);
    REQUIRE(r.status == hybrid::app::kOk);
    REQUIRE(!r.out.empty());
    CHECK(r.out.back() == '\n');
    CHECK(r.out.find('\n') == r.out.size() - 1);  // one line
    json j = json::parse(r.out);
    for (const char* f : kFields) {
      INFO(f);
      CHECK(j.contains(f));
    }
    // Every expected field of the vector that the CLI prints has the same value.
    for (const char* f : {"public_key", "public_key_uncompressed", "secret", "known_domains",
                          "timestamp", "timestamp_iso", "supports_linking", "request_type",
                          "request_hint", "key6", "unknown_keys", "cbor"}) {
      if (!c.data.contains(f)) continue;
      INFO(f);
      CHECK(j[f] == c.data[f]);
    }
    if (c.data.contains("cbor")) {
      size_t bytes = c.data["cbor"].get<std::string>().size() / 2;
      CHECK(j["length_bytes"] == bytes);
      CHECK(j["length_digits"] == c.data["url"].get<std::string>().size() - 6);
    }
    ++decoded;
  }
  CHECK(decoded >= 30);
}

TEST_CASE("qr cli: decode reads stdin with -") {
  const std::string q7 =
      "FIDO:/450667960436000384212746765638726635029113873858466150978817481746737139187585179964034382683425543718266291918030680810069082498271112126385317319279362107096654083076";
  auto r = run({"qr", "decode", "-"}, q7 + "\n");
  REQUIRE(r.status == hybrid::app::kOk);
  json j = json::parse(r.out);
  CHECK(j["secret"] == "de267ab1de13de1b9b5e514bb2394d74");
  CHECK(j["timestamp_iso"] == "2026-07-08T21:13:01Z");
  CHECK(j["supports_linking"] == false);
  CHECK(j["request_type"] == "ga");
  auto pretty = run({"qr", "decode", "--pretty", "-"}, q7);
  REQUIRE(pretty.status == hybrid::app::kOk);
  CHECK(json::parse(pretty.out) == j);
  CHECK(pretty.out.find("\n  \"public_key\"") != std::string::npos);
}

TEST_CASE("qr cli: malformed input exits 3 and says what is wrong") {
  size_t rejected = 0;
  for (const auto& c : hybrid::testing::load_vectors("qr", "qr")) {
    if (c.data.at("valid").get<bool>()) continue;
    INFO(c.file << ": " << c.name);
    std::string url = c.data.at("url").get<std::string>();
    // The empty string goes through stdin: an empty argument is a usage error.
    auto r = url.empty() ? run({"qr", "decode", "-"}) : run({"qr", "decode", url});
    CHECK(r.status == hybrid::app::kInvalidInput);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith("hybrid qr decode: invalid QR code: "));
    if (c.data.contains("error_contains")) {
      CHECK_THAT(r.err, Catch::Contains(c.data["error_contains"].get<std::string>()));
    }
    ++rejected;
  }
  CHECK(rejected >= 50);
}

TEST_CASE("qr cli: show draws a given or fresh payload, PNG and SVG included") {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "qr_cli_test.XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  fs::path dir = tmpl;
  const std::string q2 =
      "FIDO:/089962132878132862898875319509818655951233947060166026934941652203853844930597225184066237811614893181300344014421205790072080843938838513707157859599106109321447142404";

  // A given URL, prefix in lower case: drawn with the canonical upper-case prefix.
  auto png = (dir / "q2.png").string();
  auto svg = (dir / "q2.svg").string();
  auto r = run({"qr", "show", "fido:/" + q2.substr(6), "--png", png, "--svg", svg});
  INFO(r.err);
  REQUIRE(r.status == hybrid::app::kOk);
  CHECK(r.out.size() > q2.size());
  CHECK(r.out.substr(r.out.size() - q2.size() - 1) == q2 + "\n");
  CHECK(r.out.find("\u2588") != std::string::npos);  // the terminal drawing came first
  std::string scan_cmd = "zbarimg --raw -q '" + png + "' 2>/dev/null";
  FILE* p = popen(scan_cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512] = {};
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  CHECK(pclose(p) == 0);
  CHECK(std::string(buf, n) == q2 + "\n");
  std::ifstream svg_in(svg);
  std::string svg_text((std::istreambuf_iterator<char>(svg_in)), std::istreambuf_iterator<char>());
  CHECK_THAT(svg_text, Catch::StartsWith("<?xml"));
  CHECK_THAT(svg_text, Catch::Contains("</svg>"));

  // A fresh payload: a valid QR code with the requested type and linking flag.
  auto fresh = run({"qr", "show", "--no-terminal", "--request-type", "mc", "--linking"});
  REQUIRE(fresh.status == hybrid::app::kOk);
  CHECK(fresh.out.find("\u2588") == std::string::npos);
  std::string url = fresh.out.substr(0, fresh.out.size() - 1);
  auto d = run({"qr", "decode", url});
  REQUIRE(d.status == hybrid::app::kOk);
  json j = json::parse(d.out);
  CHECK(j["request_type"] == "mc");
  CHECK(j["supports_linking"] == true);
  CHECK(j["known_domains"] == 2);
  CHECK(j["length_bytes"] == 69);
  auto ga = run({"qr", "show", "--no-terminal"});
  REQUIRE(ga.status == hybrid::app::kOk);
  auto dga = json::parse(run({"qr", "decode", ga.out.substr(0, ga.out.size() - 1)}).out);
  CHECK(dga["request_type"] == "ga");
  CHECK(dga["supports_linking"] == nullptr);  // key 4 left out without --linking
  CHECK(dga["keys"] == json::array({"0", "1", "2", "3", "5"}));

  // Errors: an invalid URL is invalid input; a fresh-only option with a URL is usage.
  CHECK(run({"qr", "show", "FIDO:/000"}).status == hybrid::app::kInvalidInput);
  CHECK(run({"qr", "show", q2, "--linking"}).status == hybrid::app::kUsage);
  CHECK(is_usage_error(run({"qr", "show", "--request-type", "xx"}).status));
  CHECK(run({"qr", "show", q2, "--png", (dir / "no" / "such" / "dir.png").string()}).status ==
        hybrid::app::kInternalError);
  fs::remove_all(dir);
}

TEST_CASE("qr cli: hybrid phone --qr-png reads the code our own PNG holds, in-process") {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "qr_cli_test.XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  fs::path dir = tmpl;
  auto fresh = run({"qr", "show", "--no-terminal", "--request-type", "mc", "--png", (dir / "mc.png").string()});
  REQUIRE(fresh.status == hybrid::app::kOk);
  auto phone = [&](const fs::path& png) {
    // Nothing answers on port 9: the phone stops after the scan, when it reaches for the tunnel.
    return run({"phone", "--qr-png", png.string(), "--store", (dir / "store.json").string(), "--tunnel",
                "ws://127.0.0.1:9", "--timeout", "2", "--dbus-address", "unix:path=" + (dir / "no-bus").string()});
  };
  auto scanned = phone(dir / "mc.png");
  INFO(scanned.err);
  CHECK_THAT(scanned.err, Catch::Contains("phone: scanned a QR code for creating a passkey"));

  // Not a PNG, a truncated PNG, no file: exit 3 with the reason, never a crash.
  std::ofstream(dir / "text.png") << "not a picture\n";
  std::ifstream whole(dir / "mc.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  std::ofstream(dir / "cut.png", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  for (const auto& [file, reason] : {std::pair<std::string, std::string>{"text.png", "not a PNG file"},
                                     {"cut.png", "a damaged PNG file"},
                                     {"missing.png", "could not read the QR code PNG"}}) {
    auto r = phone(dir / file);
    INFO(file << ": " << r.err);
    CHECK(r.status == hybrid::app::kInvalidInput);
    CHECK_THAT(r.err, Catch::Contains(reason));
    CHECK_THAT(r.err, !Catch::Contains("scanned a QR code"));
  }
  fs::remove_all(dir);
}

TEST_CASE("qr cli: --help on every level, usage errors exit 2") {
  for (std::vector<std::string> args : {std::vector<std::string>{"qr", "--help"},
                                        {"qr", "decode", "--help"},
                                        {"qr", "show", "--help"}}) {
    auto r = run(args);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("FIDO:/"));
  }
  CHECK(is_usage_error(run({"qr"}).status));
  CHECK(is_usage_error(run({"qr", "decode"}).status));
  CHECK(is_usage_error(run({"qr", "show", "--module-px", "0"}).status));
}
