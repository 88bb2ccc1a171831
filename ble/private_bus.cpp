#include "ble/private_bus.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "base/log.h"

namespace hybrid::ble {

namespace {

std::string find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits for the child without blocking forever: true if it exited within `timeout`.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Removes directories left by earlier private buses whose process died without running
// its destructor (SIGKILL, _exit). Their daemon is gone too (PR_SET_PDEATHSIG) and took its
// socket with it, so a stale directory is one of ours with no `bus` socket, untouched for a
// minute (a bus being started right now has no socket yet either, but a fresh mtime).
void sweep_stale_dirs(const std::string& tmp) {
  std::error_code ec;
  auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& entry : std::filesystem::directory_iterator(tmp, ec)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("hybrid-bus-", 0) != 0 || !entry.is_directory(ec)) continue;
    struct stat st {};
    if (lstat(entry.path().c_str(), &st) != 0 || st.st_uid != getuid()) continue;
    if (std::filesystem::exists(entry.path() / "bus", ec)) continue;
    auto mtime = std::filesystem::last_write_time(entry.path(), ec);
    if (ec || now - mtime < std::chrono::minutes(1)) continue;
    std::filesystem::remove_all(entry.path(), ec);
  }
}

}  // namespace

Result<std::unique_ptr<PrivateBus>> PrivateBus::start(Options options) {
  std::string daemon = find_in_path("dbus-daemon");
  if (daemon.empty()) {
    return make_error("dbus-daemon not found in PATH: install the `dbus` package (Debian: apt-get install dbus)");
  }
  const char* tmp_env = std::getenv("TMPDIR");
  std::string tmp = tmp_env && *tmp_env ? tmp_env : "/tmp";
  sweep_stale_dirs(tmp);
  std::string templ = tmp + "/hybrid-bus-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    return make_error("cannot create a temporary directory for the private D-Bus (" + templ +
                      "): " + std::strerror(errno));
  }
  std::unique_ptr<PrivateBus> bus(new PrivateBus());
  bus->dir_ = buf.data();
  std::string config = bus->dir_ + "/bus.conf";
  std::string log_path = bus->dir_ + "/dbus-daemon.log";
  {
    std::ofstream out(config);
    out << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
           " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
           "<busconfig>\n"
           "  <type>session</type>\n"
           "  <listen>unix:path="
        << bus->dir_
        << "/bus</listen>\n"
           "  <auth>EXTERNAL</auth>\n"
           "  <policy context=\"default\">\n"
           "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
           "    <allow eavesdrop=\"true\"/>\n"
           "    <allow own=\"*\"/>\n"
           "  </policy>\n"
        << options.extra_policy_xml << "\n</busconfig>\n";
    if (!out) return make_error("cannot write " + config);
  }

  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return make_error(std::string("pipe failed: ") + std::strerror(errno));
  std::string config_arg = "--config-file=" + config;
  std::vector<const char*> argv = {daemon.c_str(), config_arg.c_str(), "--nofork", "--nopidfile",
                                   "--print-address", nullptr};
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    if (log_fd >= 0) close(log_fd);
    return make_error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    dup2(out_pipe[1], STDOUT_FILENO);
    if (log_fd >= 0) dup2(log_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(argv[0], const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  close(out_pipe[1]);
  if (log_fd >= 0) close(log_fd);
  bus->pid_ = pid;

  // Read the address line.
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  bool got_line = false;
  while (!got_line) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{out_pipe[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char c;
    ssize_t n = read(out_pipe[0], &c, 1);
    if (n <= 0) break;
    if (c == '\n') {
      got_line = true;
    } else {
      line += c;
    }
  }
  close(out_pipe[0]);
  if (!got_line || line.rfind("unix:", 0) != 0) {
    std::string log = read_file(log_path);
    return make_error("dbus-daemon did not start within " + std::to_string(options.start_timeout.count()) +
                      " ms" + (log.empty() ? "" : ": " + log));
  }
  bus->address_ = line;
  log::debug("ble", "private dbus-daemon pid {} at {}", pid, line);
  return bus;
}

PrivateBus::~PrivateBus() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    if (!wait_for_exit(pid_, std::chrono::milliseconds(2000))) {
      kill(pid_, SIGKILL);
      wait_for_exit(pid_, std::chrono::milliseconds(2000));
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace hybrid::ble
