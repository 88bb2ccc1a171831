// QR rendering: terminal width, SVG structure and well-formedness, and a PNG that a real
// decoder (zbarimg from zbar-tools) reads back to the identical FIDO:/ string.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "crypto/primitives.h"
#include "qr/payload.h"
#include "qr/render.h"
#include "tests/support/vector_files.h"

using namespace hybrid;

namespace {

// Runs a shell command and returns its stdout and exit status.
std::pair<std::string, int> run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "qr_render_test.XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string strip_ansi(const std::string& s) {
  return std::regex_replace(s, std::regex("\x1b\\[[0-9;]*m"), "");
}

// Display columns of a line of our output: every code point is one column wide.
size_t columns(const std::string& line) {
  size_t n = 0;
  for (unsigned char c : line) n += (c & 0xc0) != 0x80;
  return n;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i; (i = s.find('\n', start)) != std::string::npos; start = i + 1) {
    out.push_back(s.substr(start, i - start));
  }
  CHECK(start == s.size());  // every line ends in "\n"
  return out;
}

std::vector<std::string> real_urls() {
  std::vector<std::string> urls;
  for (const auto& c : hybrid::testing::load_vectors("qr", "qr")) {
    if (c.data.at("valid").get<bool>() && c.file == "real-world.json") {
      urls.push_back(c.data.at("url").get<std::string>());
    }
  }
  REQUIRE(urls.size() >= 8);
  return urls;
}

std::string fresh_url(qr::RequestType type = qr::RequestType::make_credential) {
  return qr::encode_url(qr::make_client_payload(crypto::P256KeyPair::generate().public_key(),
                                                crypto::random_array<16>(), type, false,
                                                1785912832));
}

}  // namespace

TEST_CASE("qr render: a 69-byte payload is version 5 at level M with the mode split") {
  std::string url = fresh_url();
  REQUIRE(url.size() == 6 + 168);
  auto m = qr::encode_matrix(url);
  REQUIRE(m.ok());
  CHECK(m->version == 5);
  CHECK(m->size == 37);
  // Byte mode would need 174 bytes: version 9 at level M. The alphanumeric/numeric split
  // is what keeps it at 5; lower-case "fido:/" cannot use alphanumeric mode.
  auto lower = qr::encode_matrix("fido:/" + url.substr(6));
  REQUIRE(lower.ok());
  CHECK(lower->version >= m->version);
  CHECK_FALSE(qr::encode_matrix("").ok());
  CHECK_FALSE(qr::encode_matrix(std::string(8000, 'x')).ok());
}

TEST_CASE("qr render: terminal output fits 80 columns and draws the matrix") {
  for (bool invert : {false, true}) {
    INFO("invert " << invert);
    std::string url = fresh_url();
    auto t = qr::render_terminal(url, invert);
    REQUIRE(t.ok());
    auto m = qr::encode_matrix(url);
    REQUIRE(m.ok());
    const int n = m->size + 2 * qr::kQuietZoneModules;
    auto ls = lines(*t);
    CHECK(ls.size() == size_t((n + 1) / 2));
    for (size_t row = 0; row < ls.size(); ++row) {
      std::string plain = strip_ansi(ls[row]);
      CHECK(columns(plain) == size_t(n));
      CHECK(columns(plain) <= 80);
      // Every line sets its colours and resets them before the newline.
      CHECK(ls[row].rfind("\x1b[", 0) == 0);
      CHECK(ls[row].size() >= 4);
      CHECK(ls[row].substr(ls[row].size() - 4) == "\x1b[0m");
      // Decode the half blocks back into modules and compare with the matrix.
      size_t x = 0;
      for (size_t i = 0; i < plain.size(); ++x) {
        bool top, bottom;
        if (plain[i] == ' ') {
          top = bottom = false;
          i += 1;
        } else {
          std::string glyph = plain.substr(i, 3);
          top = glyph == "\u2588" || glyph == "\u2580";
          bottom = glyph == "\u2588" || glyph == "\u2584";
          REQUIRE((top || bottom));
          i += 3;
        }
        auto module_dark = [&](int mx, int my) {
          mx -= qr::kQuietZoneModules;
          my -= qr::kQuietZoneModules;
          return mx >= 0 && my >= 0 && mx < m->size && my < m->size && m->is_dark(mx, my);
        };
        int y = int(row) * 2;
        CHECK(top == (module_dark(int(x), y) != invert));
        if (y + 1 < n) CHECK(bottom == (module_dark(int(x), y + 1) != invert));
      }
    }
  }
}

TEST_CASE("qr render: SVG is well-formed and its path is exactly the dark modules") {
  std::string url = fresh_url();
  auto svg = qr::render_svg(url, 4);
  REQUIRE(svg.ok());
  auto m = qr::encode_matrix(url);
  REQUIRE(m.ok());
  const int n = m->size + 2 * qr::kQuietZoneModules;
  CHECK_THAT(*svg, Catch::Contains("width=\"" + std::to_string(n * 4) + "\""));
  CHECK_THAT(*svg, Catch::Contains("viewBox=\"0 0 " + std::to_string(n) + " " + std::to_string(n) + "\""));

  // Parse the path back: "M{x} {y}h{w}v1h-{w}z" per run of dark modules.
  std::smatch d;
  REQUIRE(std::regex_search(*svg, d, std::regex("d=\"([^\"]*)\"")));
  std::set<std::pair<int, int>> drawn;
  std::string path = d[1];
  std::regex run_re("M(\\d+) (\\d+)h(\\d+)v1h-(\\d+)z");
  size_t covered = 0;
  for (auto it = std::sregex_iterator(path.begin(), path.end(), run_re); it != std::sregex_iterator(); ++it) {
    int x = std::stoi((*it)[1]), y = std::stoi((*it)[2]), w = std::stoi((*it)[3]);
    CHECK(w == std::stoi((*it)[4]));
    for (int i = 0; i < w; ++i) CHECK(drawn.insert({x + i, y}).second);
    covered += size_t(it->length());
  }
  CHECK(covered == path.size());  // nothing in the path but runs
  std::set<std::pair<int, int>> want;
  for (int y = 0; y < m->size; ++y) {
    for (int x = 0; x < m->size; ++x) {
      if (m->is_dark(x, y)) want.insert({x + qr::kQuietZoneModules, y + qr::kQuietZoneModules});
    }
  }
  CHECK(drawn == want);

  // Well-formed XML with an <svg> root in the SVG namespace (python3's XML parser).
  TempDir dir;
  auto file = dir.path / "qr.svg";
  std::ofstream(file) << *svg;
  auto [out, status] = run(
      "python3 -c \"import sys, xml.etree.ElementTree as E; "
      "r = E.parse(sys.argv[1]).getroot(); print(r.tag)\" '" + file.string() + "' 2>&1");
  CHECK(status == 0);
  CHECK(out == "{http://www.w3.org/2000/svg}svg\n");

  CHECK_FALSE(qr::render_svg(url, 0).ok());
  CHECK_FALSE(qr::render_svg(url, 101).ok());
}

TEST_CASE("qr render: zbarimg reads our PNG back to the identical FIDO:/ string") {
  TempDir dir;
  std::vector<std::string> urls = real_urls();
  urls.push_back(fresh_url(qr::RequestType::get_assertion));  // 67 bytes, 163 digits
  urls.push_back(fresh_url(qr::RequestType::make_credential));
  int i = 0;
  for (const auto& url : urls) {
    INFO(url);
    for (int px : {3, 8}) {
      auto png = qr::render_png(url, px);
      REQUIRE(png.ok());
      REQUIRE(png->size() > 8);
      CHECK(Bytes(png->begin(), png->begin() + 8) ==
            Bytes{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
      auto file = dir.path / ("qr" + std::to_string(i++) + ".png");
      std::ofstream(file, std::ios::binary)
          .write(reinterpret_cast<const char*>(png->data()), std::streamsize(png->size()));
      auto [out, status] = run("zbarimg --raw -q '" + file.string() + "'");
      CHECK(status == 0);
      // zbarimg ends its output with one newline; everything else must match exactly.
      REQUIRE(!out.empty());
      CHECK(out.back() == '\n');
      CHECK(out.substr(0, out.size() - 1) == url);
    }
  }
  CHECK_FALSE(qr::render_png(urls[0], 0).ok());
}
