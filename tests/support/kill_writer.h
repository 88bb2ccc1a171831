// The kill-a-writer loop shared by the store tests (link store, kiosk accounts): a child
// process writes records and acknowledges each one on a pipe only after the store said it
// was written; the parent SIGKILLs it at a random moment, collects the acknowledgements,
// and checks the store on disk. Repeats for `rounds` rounds or until `budget` is spent.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace hybrid::test {

// The number of rounds: HYBRID_KILL_ROUNDS (for a longer soak) or `fallback`.
inline int kill_rounds_from_env(int fallback) {
  const char* v = std::getenv("HYBRID_KILL_ROUNDS");
  return v ? std::max(1, std::atoi(v)) : fallback;
}

struct KillLoopStats {
  int rounds = 0;
  int rounds_with_acks = 0;
  size_t acknowledgements = 0;
};

// The kill lands after a random delay in [0, max_delay]; max_delay adapts to the machine
// (longer after a round without acknowledgements, shorter after a round with many), so
// that kills keep landing mid-stream on a fast disk and on a loaded CI machine alike.
// `writer(ack)` runs in the child and never returns; it calls ack(n) after each durable
// write (n is the test's own record number). `check(acks)` runs in the parent after each
// kill with that round's acknowledgements, in order; it throws (or fails a REQUIRE) when
// the store lost or damaged something. A child that exits by itself fails the loop.
inline KillLoopStats kill_writer_loop(int rounds, std::chrono::seconds budget, int initial_max_delay_us,
                                      const std::function<void(const std::function<void(uint32_t)>&)>& writer,
                                      const std::function<void(const std::vector<uint32_t>&)>& check) {
  KillLoopStats stats;
  std::mt19937 rng(std::random_device{}());
  int max_delay_us = initial_max_delay_us;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (int round = 0; round < rounds && std::chrono::steady_clock::now() < deadline; ++round) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::close(fds[0]);
      const int out = fds[1];
      writer([out](uint32_t n) {
        if (::write(out, &n, sizeof n) != sizeof n) _exit(5);
      });
      _exit(6);
    }
    ::close(fds[1]);
    ::usleep(static_cast<useconds_t>(std::uniform_int_distribution<int>(0, max_delay_us)(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) throw std::runtime_error("waitpid failed");
    if (!WIFSIGNALED(status)) {
      ::close(fds[0]);
      throw std::runtime_error("the writer exited by itself with status " +
                               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                               " (3: open, 4: write, 5: pipe)");
    }
    std::vector<uint32_t> acks;
    uint32_t n = 0;
    while (::read(fds[0], &n, sizeof n) == sizeof n) acks.push_back(n);
    ::close(fds[0]);
    stats.rounds++;
    stats.acknowledgements += acks.size();
    if (!acks.empty()) stats.rounds_with_acks++;
    if (acks.empty()) max_delay_us = std::min(max_delay_us * 3 / 2, 2000000);
    else if (acks.size() > 4) max_delay_us = std::max(max_delay_us * 2 / 3, 2000);
    check(acks);
  }
  return stats;
}

}  // namespace hybrid::test
