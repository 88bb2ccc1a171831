// The misbehaving-client suite against `hybrid tunnel serve` run as its own process:
// slowloris, huge headers, an oversized frame, 10 000 bogus paths; a tunnel opened before
// the abuse keeps relaying, new tunnels still pair, the server's RSS (read from /proc)
// returns to its baseline, and SIGTERM closes open tunnels with 1001 and exits 0.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "support.h"

using namespace tunnel_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kVictimIp = "127.0.0.2";    // well-behaved users
constexpr const char* kAttackerIp = "127.0.0.1";  // the abuser

struct ServerProcess {
  pid_t pid = -1;
  uint16_t port = 0;
  FILE* out = nullptr;
  ServerProcess(std::vector<std::string> extra) {
    const char* bin = std::getenv("HYBRID_BINARY");
    REQUIRE(bin);
    REQUIRE(access(bin, X_OK) == 0);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    std::vector<std::string> args = {bin, "tunnel", "serve", "--listen", "127.0.0.1:0", "--routing-id", "2A0000",
                                     "--log-level", "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    pollfd p{fds[0], POLLIN, 0};
    REQUIRE(poll(&p, 1, 10000) == 1);
    char line[512] = {0};
    REQUIRE(fgets(line, sizeof line, out));
    auto j = nlohmann::json::parse(line);
    REQUIRE(j["ready"] == true);
    CHECK(j["routing_id"] == "2A0000");
    port = j["port"].get<uint16_t>();
  }
  int stop(Millis timeout) {
    kill(pid, SIGINT);  // SIGTERM would drain first
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  ~ServerProcess() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out) fclose(out);
  }
};

// A well-behaved side of a tunnel over a raw socket from the victims' address.
struct RawSide {
  RawSocket s;
  bool open(uint16_t port, const std::string& path, std::string* head = nullptr) {
    return s.connect(port, kVictimIp) && s.send_all(upgrade_request(path)) && s.read_status(3s, head) == 101;
  }
  bool send(const Bytes& m) { return s.send_all(client_frame(2, m)); }
  Bytes receive() {
    auto f = s.read_frame(3s);
    return f.opcode == 2 ? f.payload : Bytes{0xDE, 0xAD};
  }
};

bool pair_and_relay(uint16_t port) {
  std::string id = random_hex(16);
  RawSide phone, client;
  if (!phone.open(port, "/cable/new/" + id)) return false;
  if (!client.open(port, "/cable/connect/2A0000/" + id)) return false;
  Bytes m = {1, 2, 3, 4};
  return client.send(m) && phone.receive() == m && phone.send(Bytes{5}) && client.receive() == Bytes{5};
}

std::string metrics(uint16_t port) {
  RawSocket s;
  if (!s.connect(port, kVictimIp) || !s.send_all(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))) return "";
  if (s.read_status(3s) != 200) return "";
  s.wait_closed(3s);
  return s.buffered();
}

long metric(const std::string& text, const std::string& name) {
  auto p = text.find("\n" + name + " ");
  return p == std::string::npos ? -1 : std::atol(text.c_str() + p + name.size() + 2);
}

}  // namespace

TEST_CASE("tunnel_abuse: misbehaving clients do not disturb good tunnels and memory returns to baseline") {
  ServerProcess srv({"--handshake-timeout", "2"});
  const uint16_t port = srv.port;

  // Warm up the allocator and lws' pools, then take the baseline.
  for (int i = 0; i < 200; ++i) REQUIRE(pair_and_relay(port));
  for (int i = 0; i < 200; ++i) {
    RawSocket s;
    REQUIRE(s.connect(port, kVictimIp));
    REQUIRE(s.send_all(upgrade_request("/cable/connect/2A0000/" + random_hex(16))));
    REQUIRE(s.read_status(3s) == 404);
  }
  std::this_thread::sleep_for(1500ms);
  const long baseline = rss_kib(srv.pid);
  REQUIRE(baseline > 0);

  // A tunnel that lives through the whole attack.
  std::string survivor_id = random_hex(16);
  RawSide survivor_phone, survivor_client;
  REQUIRE(survivor_phone.open(port, "/cable/new/" + survivor_id));
  REQUIRE(survivor_client.open(port, "/cable/connect/2A0000/" + survivor_id));

  SECTION("the attack") {
    // Slowloris: 50 upgrade requests trickling one byte every 300 ms.
    std::vector<RawSocket> slow(50);
    std::string partial = upgrade_request("/cable/new/" + random_hex(16));
    for (auto& s : slow) REQUIRE(s.connect(port, kAttackerIp));
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < 10; ++i) {
      for (auto& s : slow) s.send_all(partial.substr(i, 1));
      std::this_thread::sleep_for(300ms);
    }
    int dropped = 0;
    for (auto& s : slow) dropped += s.wait_closed(3s);
    CHECK(dropped == 50);
    CHECK(std::chrono::steady_clock::now() - t0 < 8s);

    // Header flood: 64 KiB of headers.
    {
      RawSocket s;
      REQUIRE(s.connect(port, kAttackerIp));
      std::string junk;
      for (int i = 0; i < 1024; ++i) junk += "X-Junk-" + std::to_string(i) + ": " + std::string(56, 'j') + "\r\n";
      s.send_all(upgrade_request("/cable/new/" + random_hex(16), "fido.cable", junk));
      int status = s.read_status(3s);
      INFO("status " << status);
      CHECK((status >= 400 || s.wait_closed(3s)));
    }

    // A frame header announcing a 1 TB message.
    {
      RawSocket s;
      REQUIRE(s.connect(port, kAttackerIp));
      REQUIRE(s.send_all(upgrade_request("/cable/new/" + random_hex(16))));
      REQUIRE(s.read_status(3s) == 101);
      REQUIRE(s.send_all(client_frame(2, Bytes(100, 0), true, uint64_t{1} << 40)));
      CHECK(close_code(s.read_frame(3s)) == 1009);
    }

    // 10 000 bogus requests, 8 at a time: garbage paths, guessed tunnels, wrong methods,
    // missing subprotocols. Every one gets a status (404/400/405, then 429 once the
    // address is over its refusal budget).
    std::atomic<int> answered{0}, odd{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 8; ++w) {
      workers.emplace_back([&, w] {
        for (int i = w; i < 10000; i += 8) {
          RawSocket s;
          if (!s.connect(port, kAttackerIp)) {
            odd++;
            continue;
          }
          std::string req;
          switch (i % 4) {
            case 0: req = upgrade_request("/" + random_hex(1 + i % 40)); break;
            case 1: req = upgrade_request("/cable/connect/2A0000/" + random_hex(16)); break;
            case 2: req = upgrade_request("/cable/new/" + random_hex(16), nullptr); break;
            default: req = "DELETE /cable/new/" + random_hex(16) + " HTTP/1.1\r\nHost: x\r\n\r\n"; break;
          }
          s.send_all(req);
          int st = s.read_status(3s);
          if (st == 400 || st == 404 || st == 405 || st == 429) answered++;
          else odd++;
        }
      });
    }
    for (auto& t : workers) t.join();
    CHECK(answered == 10000);
    CHECK(odd == 0);
  }

  // The survivor still relays, both ways.
  REQUIRE(survivor_client.send(Bytes{7, 7}));
  CHECK(survivor_phone.receive() == Bytes{7, 7});
  REQUIRE(survivor_phone.send(Bytes{8}));
  CHECK(survivor_client.receive() == Bytes{8});
  // New tunnels from well-behaved addresses still pair.
  for (int i = 0; i < 50; ++i) REQUIRE(pair_and_relay(port));
  survivor_phone.s.close();
  survivor_client.s.close();

  std::this_thread::sleep_for(1500ms);
  auto m = metrics(port);
  CHECK(metric(m, "hybrid_tunnel_pending_tunnels") == 0);
  CHECK(metric(m, "hybrid_tunnel_paired_tunnels") == 0);
  CHECK(metric(m, "hybrid_tunnel_connections") == 0);
  CHECK(metric(m, "hybrid_tunnel_sockets") <= 2);  // the listener and this metrics request
  const long after = rss_kib(srv.pid);
  INFO("RSS baseline " << baseline << " KiB, after " << after << " KiB");
  CHECK(after <= baseline + 4096);

  // Immediate shutdown (SIGINT; SIGTERM drains first): an open tunnel is closed with 1001
  // and the process exits 0.
  std::string id = random_hex(16);
  RawSide phone;
  REQUIRE(phone.open(port, "/cable/new/" + id));
  CHECK(srv.stop(5s) == 0);
  CHECK(close_code(phone.s.read_frame(2s)) == 1001);
}

// Issue 15 finding 2: with the table capped at 1 000, 1 000 bogus registrations from one
// address used to lock every new phone out (503). Now one address owns at most
// --max-push-registrations-per-ip (default 200) of them, and a phone from another address
// still gets in.
TEST_CASE("tunnel_abuse: a flood of push registrations from one address does not lock out other phones") {
  ServerProcess server({"--max-push-registrations", "1000"});
  int accepted = 0, refused = 0, other = 0;
  for (int i = 0; i < 1000; ++i) {
    RawSocket s;
    REQUIRE(s.connect(server.port, kAttackerIp));
    REQUIRE(s.send_all(upgrade_request("/cable/push/" + random_hex(12), "fido.cable",
                                       "X-caBLE-Push-Secret: " + random_hex(16) + "\r\n")));
    int status = s.read_status(5s);
    if (status == 101) ++accepted;
    else if (status == 429) ++refused;
    else ++other;
  }
  CHECK(accepted == 200);
  CHECK(refused == 800);  // 429: this address's share, then its refusal budget
  CHECK(other == 0);
  RawSocket phone;
  REQUIRE(phone.connect(server.port, kVictimIp));
  REQUIRE(phone.send_all(upgrade_request("/cable/push/" + random_hex(12), "fido.cable",
                                         "X-caBLE-Push-Secret: " + random_hex(16) + "\r\n")));
  CHECK(phone.read_status(5s) == 101);
  CHECK(server.stop(10s) == 0);
}
