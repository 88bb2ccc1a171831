// Push bindings shared between nodes (issue 16): two registries standing for two nodes
// share one store, so the first registration of a contact id on the node it moves to
// still needs the secret the phone bound on the old one; a /contact that reaches the new
// node first keeps the push for the phone instead of answering 410. The same checks run
// against the in-memory store and against a real Redis (Debian's redis-server, started
// here on a loopback port), whose outage must turn into 503, never into a takeover.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "tunnel/push_binding_store.h"
#include "tunnel/push_message.h"
#include "tunnel/registry.h"

using namespace hybrid;
using namespace hybrid::tunnel;
using namespace std::chrono_literals;

namespace {

const Bytes kContact = {0xC0, 0x17, 0xAC, 0x7D};

struct Node {
  RoutingId routing;
  Registry reg;
  TimePoint now = TimePoint{} + 1000s;
  Node(uint8_t n, PushBindingStore* store) : routing(RoutingId{{0x2A, 0x00, n}}), reg(routing, ServerLimits{}, store) {}
  Admission push(ConnId id, const std::string& secret) {
    UpgradeRequest r;
    r.path = PushRequest{kContact};
    r.client_ip = "10.1.1.1";
    r.push_secret = secret;
    return reg.admit(id, r, now);
  }
  Admission contact(ConnId id) {
    UpgradeRequest r;
    r.path = ContactRequest{kContact};
    r.client_ip = "10.2.2.2";
    r.client_payload_hex = "A20102030405";
    return reg.admit(id, r, now);
  }
};

void ring_change_checks(PushBindingStore& store) {
  Node a(1, &store), b(2, &store);
  const std::string phone = "the-phones-secret-0123";
  const std::string thief = "someone-elses-secret-99";
  REQUIRE(a.push(1, phone).ok());  // bound on node A
  // The ring changes: the contact id now maps to node B, which has never seen it.
  CHECK(b.push(2, thief).status == 403);
  CHECK(b.reg.counters().rejects[static_cast<int>(Reject::push_secret)] == 1);
  // A client's /contact reaches B before the phone: the push waits instead of a 410.
  REQUIRE(b.contact(3).ok());
  CHECK(b.reg.take_actions().empty());
  // The phone re-registers on B with its secret and receives the waiting push.
  REQUIRE(b.push(4, phone).ok());
  auto acts = b.reg.take_actions();
  REQUIRE(acts.size() == 1);
  CHECK(acts[0].conn == 4);
  auto msg = decode_push_message(acts[0].message);
  REQUIRE(msg.ok());
  CHECK(msg->routing_id == b.routing);
  // A contact id nobody bound is still 410 everywhere.
  Node c(3, &store);
  UpgradeRequest r;
  r.path = ContactRequest{Bytes{1, 2, 3}};
  r.client_ip = "10.2.2.2";
  CHECK(c.reg.admit(9, r, c.now).status == 410);
}

}  // namespace

TEST_CASE("push_binding: without a shared store a new node lets anyone take a contact id (the gap)") {
  Node a(1, nullptr), b(2, nullptr);
  REQUIRE(a.push(1, "the-phones-secret-0123").ok());
  CHECK(b.push(2, "someone-elses-secret-99").ok());  // what a shared store prevents
}

TEST_CASE("push_binding: in-memory store shared by two registries") {
  InMemoryPushBindingStore store(1000, 3600s);
  ring_change_checks(store);
}

TEST_CASE("push_binding: in-memory store keeps at most its capacity, oldest first") {
  InMemoryPushBindingStore store(3, 3600s);
  crypto::Sha256Digest h{};
  for (uint8_t i = 0; i < 5; ++i) {
    h[0] = i;
    REQUIRE(store.bind_if_absent(Bytes{i}, h).ok());
  }
  CHECK(store.size() == 3);
  CHECK(!*store.lookup(Bytes{0}));
  CHECK(!*store.lookup(Bytes{1}));
  REQUIRE(*store.lookup(Bytes{4}));
  CHECK((**store.lookup(Bytes{4}))[0] == 4);
  crypto::Sha256Digest other{};
  other[0] = 99;
  CHECK((*store.bind_if_absent(Bytes{4}, other))[0] == 4);  // the earlier binding wins
}

TEST_CASE("push_binding: Redis URL parsing") {
  auto o = RedisPushBindingStore::parse_url("redis://10.0.0.5:6380/");
  REQUIRE(o.ok());
  CHECK(o->host == "10.0.0.5");
  CHECK(o->port == 6380);
  CHECK(RedisPushBindingStore::parse_url("redis://localhost")->port == 6379);
  CHECK(!RedisPushBindingStore::parse_url("http://x:1").ok());
  CHECK(!RedisPushBindingStore::parse_url("redis://x:0").ok());
  CHECK(!RedisPushBindingStore::parse_url("redis://:6379").ok());
}

namespace {

uint16_t free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// Debian's redis-server on a loopback port, no persistence, killed at the end.
struct RedisServer {
  pid_t pid = -1;
  uint16_t port = free_port();
  RedisServer() {
    pid = ::fork();
    if (pid == 0) {
      std::string p = std::to_string(port);
      ::execlp("redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--loglevel", "warning", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
  }
  bool wait_ready(PushBindingStore& store) {
    for (int i = 0; i < 100; ++i) {
      if (store.lookup(Bytes{0}).ok()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  void stop() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  ~RedisServer() { stop(); }
};

}  // namespace

TEST_CASE("push_binding: Redis store shared by two registries (real redis-server)") {
  RedisServer redis;
  RedisPushBindingStore::Options o;
  o.port = redis.port;
  o.key_prefix = "test:" + std::to_string(::getpid()) + ":";
  RedisPushBindingStore store(o), other_node(o);
  REQUIRE(redis.wait_ready(store));
  ring_change_checks(store);

  // Two nodes, each with its own connection to Redis: the binding made through one is
  // what the other enforces.
  Node a(1, &store), b(2, &other_node);
  Bytes id = {0x42};
  crypto::Sha256Digest h1{}, h2{};
  h1[0] = 1;
  h2[0] = 2;
  REQUIRE(*store.bind_if_absent(id, h1) == h1);
  CHECK(*other_node.bind_if_absent(id, h2) == h1);

  // Redis goes away: registrations and contacts are refused with 503, never accepted.
  redis.stop();
  Node c(3, &other_node);
  auto r = c.push(5, "yet-another-secret-000");
  CHECK(r.status == 503);
  CHECK(r.message.find("registration store") != std::string::npos);
  auto lookup = other_node.lookup(id);
  REQUIRE(!lookup.ok());
  CHECK(lookup.error().message.find("registration store at redis://127.0.0.1:") != std::string::npos);
}
