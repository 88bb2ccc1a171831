// Load generator for bench/run-tunnel: drives `hybrid tunnel serve` (or, for the baseline,
// a raw TCP relay such as HAProxy in mode tcp in front of this program's own sink) with
// the same WebSocket bytes, on one epoll thread, from many 127.0.0.x source addresses.
// Not a Google Benchmark: it has its own main() and prints one JSON line of results.
//
//   tunnel_load_bench pending --port P --count N [--sources K] [--paired 1]
//                                        (holds N /new tunnels, or N /new + /connect pairs)
//   tunnel_load_bench pairings --port P --concurrency C --seconds S [--relay SINKPORT]
//   tunnel_load_bench relay --port P --pairs N --rate R --size B --seconds S [--window W] [--relay SINKPORT]
//   tunnel_load_bench sink --listen SINKPORT                      (backend for pending baseline)
//
// With --relay, --port is the relay's port and the relay forwards to SINKPORT, where this
// process answers the upgrade itself and plays the phone's side.
// --cpu-pids P1,P2,...: the pairings and relay modes also report the user+system CPU time
// those processes (the server under test) spent during the measured window, read from
// /proc/<pid>/stat, so results can be given per pairing / per byte whatever the load
// generator's own speed. --latencies FILE: the relay mode also writes every measured
// latency (nanoseconds, one per line) so that several generators' samples can be merged.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

struct Args {
  std::string mode;
  int port = 0, sink_port = 0, listen = 0;
  int count = 1000, sources = 16, concurrency = 64, pairs = 100, window = 4;
  double seconds = 5, rate = 1000;
  size_t size = 64;
  bool paired = false;
  std::vector<int> cpu_pids;
  std::string latencies_file;
};

// user+system CPU seconds of a process so far (fields 14 and 15 of /proc/<pid>/stat).
double cpu_seconds(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char buf[4096];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  if (!p) return 0;
  unsigned long long utime = 0, stime = 0;
  // After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return 0;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double cpu_of(const std::vector<int>& pids) {
  double s = 0;
  for (int pid : pids) s += cpu_seconds(pid);
  return s;
}

std::mt19937_64 rng{std::random_device{}()};
std::string random_hex(size_t bytes) {
  static const char* d = "0123456789ABCDEF";
  std::string s;
  for (size_t i = 0; i < bytes; ++i) {
    auto v = rng();
    s += d[v & 15];
    s += d[(v >> 4) & 15];
  }
  return s;
}

std::string upgrade(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
         "Sec-WebSocket-Protocol: fido.cable\r\n\r\n";
}
const std::string kSwitching =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: fido.cable\r\n"
    "X-caBLE-Routing-ID: 2A0000\r\n\r\n";

void append_frame(std::string& out, const std::string& payload, bool masked) {
  size_t n = payload.size();
  out += static_cast<char>(0x82);
  uint8_t m = masked ? 0x80 : 0;
  if (n < 126) {
    out += static_cast<char>(m | n);
  } else if (n < 65536) {
    out += static_cast<char>(m | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(m | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  if (masked) out.append(4, '\0');  // a zero mask key: valid, and XOR is then a no-op
  out += payload;
}

enum class St { kConnecting, kAwaitResponse, kAwaitRequest, kOpen, kClosed };

struct Conn {
  uint64_t serial = 0;  // epoll's key: fd numbers are reused as soon as a socket closes
  int fd = -1;
  int pair = -1;
  bool is_phone = false;  // the /new side (or the sink's accepted side in relay mode)
  bool outbound = true;
  St st = St::kConnecting;
  std::string rbuf, wbuf;
  size_t roff = 0;
  bool want_out = false;
};

struct Pair {
  std::string tunnel;
  Conn* phone = nullptr;
  Conn* client = nullptr;
  uint64_t next_send_ns = 0;
  int in_flight = 0;
};

class Loop {
 public:
  explicit Loop(const Args& a) : a_(a) {
    ep_ = epoll_create1(0);
    for (int i = 0; i < a.sources; ++i) sources_.push_back("127.0.0." + std::to_string(2 + i));
  }

  Conn* connect_out(const std::string& path, int pair, bool phone) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return nullptr;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef IP_BIND_ADDRESS_NO_PORT
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, sources_[next_source_++ % sources_.size()].c_str(), &src.sin_addr);
    bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(a_.port));
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
    if (r != 0 && errno != EINPROGRESS) {
      ::close(fd);
      return nullptr;
    }
    auto c = std::make_unique<Conn>();
    c->serial = ++serial_;
    c->fd = fd;
    c->pair = pair;
    c->is_phone = phone;
    c->wbuf = upgrade(path);
    c->st = St::kConnecting;
    Conn* raw = c.get();
    conns_[c->serial] = std::move(c);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = raw->serial;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    raw->want_out = true;
    return raw;
  }

  void listen_on(int port) {
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd_, 4096) != 0) {
      std::fprintf(stderr, "sink: cannot listen on %d: %s\n", port, std::strerror(errno));
      std::exit(1);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    epoll_ctl(ep_, EPOLL_CTL_ADD, lfd_, &ev);
  }

  void send(Conn* c, const std::string& payload) {
    append_frame(c->wbuf, payload, c->outbound);
    flush(c);
  }

  void close_conn(Conn* c) {
    if (c->st == St::kClosed) return;
    c->st = St::kClosed;
    epoll_ctl(ep_, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    dead_.push_back(c->serial);
  }

  // Runs until done() or the deadline; on_tick every millisecond or so.
  template <class Done, class Tick>
  void run(uint64_t deadline_ns, Done done, Tick tick) {
    epoll_event evs[512];
    while (!done() && now_ns() < deadline_ns) {
      int n = epoll_wait(ep_, evs, 512, 1);
      for (int i = 0; i < n; ++i) handle(evs[i]);
      for (uint64_t id : dead_) conns_.erase(id);
      dead_.clear();
      tick();
    }
  }

  std::function<void(Conn*)> on_open;
  std::function<void(Conn*, const char*, size_t)> on_message;
  std::function<void(Conn*)> on_fail;
  std::function<int(const std::string& path)> pair_of_path;  // sink: which pair a request belongs to
  uint64_t failures = 0;

 private:
  void flush(Conn* c) {
    while (!c->wbuf.empty() && c->st != St::kConnecting) {
      ssize_t k = ::send(c->fd, c->wbuf.data(), c->wbuf.size(), MSG_NOSIGNAL);
      if (k > 0) {
        c->wbuf.erase(0, static_cast<size_t>(k));
        continue;
      }
      if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      fail(c);
      return;
    }
    bool want = !c->wbuf.empty() || c->st == St::kConnecting;
    if (want != c->want_out) {
      epoll_event ev{};
      ev.events = EPOLLIN | (want ? static_cast<uint32_t>(EPOLLOUT) : 0u);
      ev.data.u64 = c->serial;
      epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
      c->want_out = want;
    }
  }

  void fail(Conn* c) {
    if (c->st == St::kClosed) return;
    failures++;
    close_conn(c);
    if (on_fail) on_fail(c);
  }

  void accept_all() {
    while (true) {
      int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->serial = ++serial_;
      c->fd = fd;
      c->outbound = false;
      c->is_phone = true;
      c->st = St::kAwaitRequest;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = c->serial;
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      conns_[c->serial] = std::move(c);
    }
  }

  void handle(const epoll_event& e) {
    if (e.data.u64 == 0) return accept_all();
    auto it = conns_.find(e.data.u64);
    if (it == conns_.end()) return;
    Conn* c = it->second.get();
    if (c->st == St::kClosed) return;
    if (c->st == St::kConnecting && (e.events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) return fail(c);
      c->st = St::kAwaitResponse;
    }
    if (e.events & EPOLLOUT) flush(c);
    if (c->st == St::kClosed) return;
    if (e.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      char buf[65536];
      while (true) {
        ssize_t k = ::recv(c->fd, buf, sizeof buf, 0);
        if (k > 0) {
          c->rbuf.append(buf, static_cast<size_t>(k));
          if (static_cast<size_t>(k) < sizeof buf) break;
          continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        parse(c);
        return fail(c);  // EOF or error
      }
      parse(c);
    }
  }

  void parse(Conn* c) {
    if (c->st == St::kAwaitResponse || c->st == St::kAwaitRequest) {
      auto end = c->rbuf.find("\r\n\r\n");
      if (end == std::string::npos) return;
      std::string head = c->rbuf.substr(0, end + 4);
      c->rbuf.erase(0, end + 4);
      if (c->st == St::kAwaitResponse) {
        if (head.compare(0, 12, "HTTP/1.1 101") != 0) return fail(c);
      } else {
        auto sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
        c->pair = pair_of_path ? pair_of_path(head.substr(sp1 + 1, sp2 - sp1 - 1)) : -1;
        c->wbuf += kSwitching;
      }
      c->st = St::kOpen;
      if (!c->wbuf.empty()) flush(c);
      if (on_open) on_open(c);
    }
    while (c->st == St::kOpen) {
      const auto* b = reinterpret_cast<const uint8_t*>(c->rbuf.data()) + c->roff;
      size_t avail = c->rbuf.size() - c->roff;
      if (avail < 2) break;
      uint64_t len = b[1] & 0x7f;
      size_t off = 2;
      if (len == 126) {
        if (avail < 4) break;
        len = uint64_t{b[2]} << 8 | b[3], off = 4;
      } else if (len == 127) {
        if (avail < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = len << 8 | b[2 + i];
        off = 10;
      }
      bool masked = b[1] & 0x80;
      if (masked) off += 4;  // our peers use the zero mask key
      if (avail < off + len) break;
      int opcode = b[0] & 0x0f;
      size_t start = c->roff + off;
      c->roff += off + len;
      if (opcode == 8) return fail(c);
      if (opcode == 2 && on_message) on_message(c, c->rbuf.data() + start, len);
      if (c->st != St::kOpen) return;
    }
    if (c->roff > 0 && (c->roff == c->rbuf.size() || c->roff > 65536)) {
      c->rbuf.erase(0, c->roff);
      c->roff = 0;
    }
  }

  const Args& a_;
  int ep_ = -1, lfd_ = -1;
  std::vector<std::string> sources_;
  size_t next_source_ = 0;
  uint64_t serial_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<uint64_t> dead_;
};

void raise_fd_limit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

std::string message(size_t size, uint32_t pair) {
  std::string m(std::max<size_t>(size, 12), 'x');
  uint64_t t = now_ns();
  std::memcpy(m.data(), &t, 8);
  std::memcpy(m.data() + 8, &pair, 4);
  return m;
}

double percentile(std::vector<uint64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;  // microseconds
}

// Opens `count` tunnels: phones with /new (tunnel mode) or connections through the relay.
int run_pending(const Args& a) {
  Loop loop(a);
  uint64_t opened = 0;
  int started = 0;
  std::vector<std::string> ids(static_cast<size_t>(a.count));
  // Paired: a tunnel counts once its joiner is open too.
  loop.on_open = [&](Conn* c) {
    if (!a.paired || a.sink_port) {
      opened++;
    } else if (c->is_phone) {
      if (!loop.connect_out("/cable/connect/2A0000/" + ids[static_cast<size_t>(c->pair)], c->pair, false)) loop.failures++;
    } else {
      opened++;
    }
  };
  auto t0 = now_ns();
  // Open in waves so the listen backlog is not overrun.
  loop.run(t0 + 600'000'000'000ULL,  // 17 000 per process take minutes on a loaded machine
           [&] { return opened + loop.failures >= static_cast<uint64_t>(a.count); },
           [&] {
             while (started < a.count && static_cast<uint64_t>(started) < opened + loop.failures + 500) {
               ids[static_cast<size_t>(started)] = random_hex(16);
               const std::string& id = ids[static_cast<size_t>(started)];
               std::string path = a.sink_port ? "/cable/connect/2A0000/" + id : "/cable/new/" + id;
               if (!loop.connect_out(path, started, true)) loop.failures++;
               started++;
             }
           });
  double secs = static_cast<double>(now_ns() - t0) / 1e9;
  std::printf("{\"mode\":\"pending\",\"opened\":%llu,\"failed\":%llu,\"seconds\":%.2f}\n",
              static_cast<unsigned long long>(opened), static_cast<unsigned long long>(loop.failures), secs);
  std::fflush(stdout);
  // Hold the connections until the script has measured memory and closes our stdin.
  char buf[16];
  while (read(0, buf, sizeof buf) > 0) {
  }
  return 0;
}

int run_sink(const Args& a) {
  Loop loop(a);
  loop.listen_on(a.listen);
  std::printf("{\"sink\":%d}\n", a.listen);
  std::fflush(stdout);
  loop.run(UINT64_MAX, [] { return false; }, [] {});
  return 0;
}

// Pairings per second: C workers, each /new → /connect → one message → close, repeated.
int run_pairings(const Args& a) {
  Loop loop(a);
  bool relay = a.sink_port != 0;
  if (relay) loop.listen_on(a.sink_port);
  std::vector<Pair> pairs(static_cast<size_t>(a.concurrency));
  std::unordered_map<std::string, int> by_tunnel;
  uint64_t done = 0;
  bool measuring = true;
  std::function<void(int)> start = [&](int k) {
    Pair& p = pairs[static_cast<size_t>(k)];
    p.tunnel = random_hex(16);
    p.phone = p.client = nullptr;
    if (relay) {
      by_tunnel[p.tunnel] = k;
      p.client = loop.connect_out("/cable/connect/2A0000/" + p.tunnel, k, false);
    } else {
      p.phone = loop.connect_out("/cable/new/" + p.tunnel, k, true);
    }
  };
  loop.pair_of_path = [&](const std::string& path) {
    auto it = by_tunnel.find(path.substr(path.size() - 32));
    if (it == by_tunnel.end()) return -1;
    int k = it->second;
    by_tunnel.erase(it);
    return k;
  };
  loop.on_open = [&](Conn* c) {
    if (c->pair < 0) return;
    Pair& p = pairs[static_cast<size_t>(c->pair)];
    if (c->is_phone && !relay) {
      p.client = loop.connect_out("/cable/connect/2A0000/" + p.tunnel, c->pair, false);
    } else if (c->is_phone) {
      p.phone = c;
    }
    if (!c->is_phone) loop.send(c, message(64, static_cast<uint32_t>(c->pair)));
  };
  loop.on_message = [&](Conn* c, const char*, size_t) {
    if (!c->is_phone || c->pair < 0) return;
    Pair& p = pairs[static_cast<size_t>(c->pair)];
    if (measuring) done++;
    if (p.client) loop.close_conn(p.client);
    loop.close_conn(c);
    start(c->pair);
  };
  loop.on_fail = [&](Conn* c) {
    if (c->pair < 0) return;
    Pair& p = pairs[static_cast<size_t>(c->pair)];
    if (c != p.phone && c != p.client) return;  // a leftover of an earlier round
    if (p.phone && p.phone != c) loop.close_conn(p.phone);
    if (p.client && p.client != c) loop.close_conn(p.client);
    start(c->pair);
  };
  for (int k = 0; k < a.concurrency; ++k) start(k);
  // Warm up for 1 s, then measure.
  loop.run(now_ns() + 1'000'000'000ULL, [] { return false; }, [] {});
  done = 0;
  uint64_t failures0 = loop.failures;
  double cpu0 = cpu_of(a.cpu_pids);
  auto t0 = now_ns();
  loop.run(t0 + static_cast<uint64_t>(a.seconds * 1e9), [] { return false; }, [] {});
  double secs = static_cast<double>(now_ns() - t0) / 1e9;
  double cpu = cpu_of(a.cpu_pids) - cpu0;
  std::printf("{\"mode\":\"pairings\",\"relay\":%s,\"pairings\":%llu,\"seconds\":%.2f,\"per_second\":%.0f,\"failures\":%llu,"
              "\"server_cpu_s\":%.3f}\n",
              relay ? "true" : "false", static_cast<unsigned long long>(done), secs, static_cast<double>(done) / secs,
              static_cast<unsigned long long>(loop.failures - failures0), cpu);
  return 0;
}

// N established pairs; latency at a fixed aggregate rate (window 0) or throughput with W
// messages in flight per pair. Every message is answered by one of the same size.
int run_relay(const Args& a) {
  Loop loop(a);
  bool relay = a.sink_port != 0;
  if (relay) loop.listen_on(a.sink_port);
  std::vector<Pair> pairs(static_cast<size_t>(a.pairs));
  std::unordered_map<std::string, int> by_tunnel;
  int ready = 0;
  loop.pair_of_path = [&](const std::string& path) {
    auto it = by_tunnel.find(path.substr(path.size() - 32));
    return it == by_tunnel.end() ? -1 : it->second;
  };
  loop.on_open = [&](Conn* c) {
    if (c->pair < 0) return;
    Pair& p = pairs[static_cast<size_t>(c->pair)];
    if (c->is_phone) {
      p.phone = c;
      if (!relay) p.client = loop.connect_out("/cable/connect/2A0000/" + p.tunnel, c->pair, false);
    } else {
      p.client = c;
    }
    if (p.phone && p.client && p.phone->st == St::kOpen && p.client->st == St::kOpen) ready++;
  };
  std::vector<uint64_t> latencies;
  latencies.reserve(1 << 22);
  uint64_t bytes = 0, messages = 0;
  bool measuring = false;
  bool throughput = a.window > 0;
  loop.on_message = [&](Conn* c, const char* data, size_t len) {
    uint64_t sent;
    std::memcpy(&sent, data, 8);
    if (measuring) {
      bytes += len;
      messages++;
      if (!throughput && latencies.size() < latencies.capacity()) latencies.push_back(now_ns() - sent);
    }
    Pair& p = pairs[static_cast<size_t>(c->pair)];
    if (c->is_phone) {
      loop.send(c, message(len, static_cast<uint32_t>(c->pair)));  // the phone answers in kind
    } else if (throughput) {
      loop.send(c, message(a.size, static_cast<uint32_t>(c->pair)));
    } else {
      p.in_flight--;
    }
  };
  for (int k = 0; k < a.pairs; ++k) {
    Pair& p = pairs[static_cast<size_t>(k)];
    p.tunnel = random_hex(16);
    if (relay) {
      by_tunnel[p.tunnel] = k;
      loop.connect_out("/cable/connect/2A0000/" + p.tunnel, k, false);
    } else {
      loop.connect_out("/cable/new/" + p.tunnel, k, true);
    }
  }
  loop.run(now_ns() + 60'000'000'000ULL, [&] { return ready >= a.pairs; }, [] {});
  if (ready < a.pairs) {
    std::printf("{\"mode\":\"relay\",\"error\":\"only %d of %d pairs opened\"}\n", ready, a.pairs);
    return 1;
  }
  // Spread the pairs' first sends over one period.
  uint64_t period_ns = static_cast<uint64_t>(1e9 * a.pairs / std::max(1.0, a.rate));
  uint64_t t_start = now_ns();
  for (int k = 0; k < a.pairs; ++k) {
    pairs[static_cast<size_t>(k)].next_send_ns = t_start + period_ns * static_cast<uint64_t>(k) / static_cast<uint64_t>(a.pairs);
  }
  // Due sends in a min-heap: the tick costs O(log pairs) per message, not O(pairs) per wakeup.
  using Due = std::pair<uint64_t, int>;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due;
  for (int k = 0; k < a.pairs; ++k) due.emplace(pairs[static_cast<size_t>(k)].next_send_ns, k);
  auto tick = [&] {
    if (throughput) return;
    uint64_t now = now_ns();
    while (!due.empty() && due.top().first <= now) {
      int k = due.top().second;
      due.pop();
      Pair& p = pairs[static_cast<size_t>(k)];
      if (p.client && p.client->st == St::kOpen) {
        loop.send(p.client, message(a.size, static_cast<uint32_t>(k)));
        p.in_flight++;
      }
      p.next_send_ns += period_ns;
      if (p.next_send_ns < now) p.next_send_ns = now + period_ns;
      due.emplace(p.next_send_ns, k);
    }
  };
  if (throughput) {
    for (auto& p : pairs) {
      for (int w = 0; w < a.window; ++w) loop.send(p.client, message(a.size, 0));
    }
  }
  // Warm up 1 s, then measure.
  loop.run(now_ns() + 1'000'000'000ULL, [] { return false; }, tick);
  measuring = true;
  double cpu0 = cpu_of(a.cpu_pids);
  auto t0 = now_ns();
  loop.run(t0 + static_cast<uint64_t>(a.seconds * 1e9), [] { return false; }, tick);
  double secs = static_cast<double>(now_ns() - t0) / 1e9;
  double cpu = cpu_of(a.cpu_pids) - cpu0;
  measuring = false;
  if (!a.latencies_file.empty()) {
    if (FILE* f = std::fopen(a.latencies_file.c_str(), "w")) {
      for (uint64_t v : latencies) std::fprintf(f, "%llu\n", static_cast<unsigned long long>(v));
      std::fclose(f);
    }
  }
  double p50 = percentile(latencies, 0.50), p99 = percentile(latencies, 0.99), p999 = percentile(latencies, 0.999);
  std::printf("{\"mode\":\"relay\",\"relay\":%s,\"pairs\":%d,\"size\":%zu,\"window\":%d,\"messages\":%llu,"
              "\"messages_per_second\":%.0f,\"mib_per_second\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
              "\"failures\":%llu,\"bytes\":%llu,\"seconds\":%.3f,\"server_cpu_s\":%.3f}\n",
              relay ? "true" : "false", a.pairs, a.size, a.window, static_cast<unsigned long long>(messages),
              static_cast<double>(messages) / secs, static_cast<double>(bytes) / secs / 1048576.0, p50, p99, p999,
              static_cast<unsigned long long>(loop.failures), static_cast<unsigned long long>(bytes), secs, cpu);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  Args a;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s pending|pairings|relay|sink [options]; see bench/run-tunnel\n", argv[0]);
    return 2;
  }
  a.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--port") a.port = std::atoi(v);
    else if (k == "--relay") a.sink_port = std::atoi(v);
    else if (k == "--listen") a.listen = std::atoi(v);
    else if (k == "--count") a.count = std::atoi(v);
    else if (k == "--sources") a.sources = std::atoi(v);
    else if (k == "--concurrency") a.concurrency = std::atoi(v);
    else if (k == "--pairs") a.pairs = std::atoi(v);
    else if (k == "--window") a.window = std::atoi(v);
    else if (k == "--seconds") a.seconds = std::atof(v);
    else if (k == "--rate") a.rate = std::atof(v);
    else if (k == "--size") a.size = static_cast<size_t>(std::atol(v));
    else if (k == "--paired") a.paired = std::atoi(v) != 0;
    else if (k == "--latencies") a.latencies_file = v;
    else if (k == "--cpu-pids") {
      for (const char* p = v; *p;) {
        a.cpu_pids.push_back(std::atoi(p));
        p = std::strchr(p, ',');
        if (!p) break;
        ++p;
      }
    }
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.mode == "pending") return run_pending(a);
  if (a.mode == "sink") return run_sink(a);
  if (a.mode == "pairings") return run_pairings(a);
  if (a.mode == "relay") return run_relay(a);
  std::fprintf(stderr, "unknown mode %s\n", a.mode.c_str());
  return 2;
}
