#include "demo/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace hybrid::demo {
namespace {

int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv, const std::string& stderr_path) {
  return spawn(argv, stderr_path, {});
}

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv, const std::string& stderr_path,
                                         const std::vector<std::string>& env_changes) {
  if (argv.empty()) return make_error("nothing to run");
  // The environment is built here: the forked child may only make async-signal-safe calls.
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  for (const auto& change : env_changes) {
    const std::string name = change.substr(0, change.find('='));
    std::erase_if(env, [&](const std::string& v) { return v.compare(0, name.size() + 1, name + "=") == 0; });
    if (change.find('=') != std::string::npos) env.push_back(change);
  }
  std::vector<char*> cenv;
  for (auto& v : env) cenv.push_back(v.data());
  cenv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return make_error(std::string("pipe: ") + std::strerror(errno));
  int err_fd = -1;
  if (!stderr_path.empty()) {
    err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err_fd < 0) {
      close(fds[0]);
      close(fds[1]);
      return make_error("cannot write " + stderr_path + ": " + std::strerror(errno));
    }
  }
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    if (err_fd >= 0) close(err_fd);
    return make_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, nullptr);
    sigaction(SIGTERM, &dfl, nullptr);
    sigaction(SIGPIPE, &dfl, nullptr);
    // A Ctrl-C in the terminal goes to the demo, which stops its children itself.
    setpgid(0, 0);
    dup2(fds[1], STDOUT_FILENO);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(fds[1]);
  if (err_fd >= 0) close(err_fd);
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return ChildProcess(pid, fds[0]);
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(o.pid_), out_(o.out_), status_(o.status_), stdout_(std::move(o.stdout_)) {
  o.pid_ = -1;
  o.out_ = -1;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) terminate();
  if (out_ >= 0) close(out_);
}

std::optional<int> ChildProcess::poll() {
  if (status_ || pid_ <= 0) return status_;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = decode_status(st);
  return status_;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto s = poll()) return s;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (auto s = poll()) return *s;
  kill(pid_, SIGTERM);
  if (auto s = wait(grace)) return *s;
  kill(pid_, SIGKILL);
  int st = 0;
  while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  status_ = decode_status(st);
  return *status_;
}

int ChildProcess::terminate_group(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_.value_or(255);
  const pid_t group = pid_;
  if (!poll()) {
    kill(-group, SIGTERM);
    (void)wait(grace);
  }
  kill(-group, SIGKILL);  // helpers that outlived the leader, or everyone after the grace
  return terminate(std::chrono::milliseconds(0));
}

const std::string& ChildProcess::read_stdout() {
  if (out_ < 0) return stdout_;
  char buf[4096];
  for (;;) {
    ssize_t n = read(out_, buf, sizeof buf);
    if (n > 0) {
      stdout_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EAGAIN or EOF
  }
  return stdout_;
}

}  // namespace hybrid::demo
