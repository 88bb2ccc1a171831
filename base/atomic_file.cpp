#include "base/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

#include <openssl/rand.h>

namespace hybrid {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

// Four random bytes in hex: keeps concurrent writers' temporary files apart.
std::string random_suffix() {
  unsigned char b[4] = {};
  if (RAND_bytes(b, sizeof b) != 1) {
    for (auto& x : b) x = static_cast<unsigned char>(std::rand());
  }
  return hex_encode(ByteView(b, sizeof b));
}

std::pair<std::string, std::string> split_path(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

Status atomic_write_file(const std::string& path, ByteView contents, mode_t mode) {
  const std::string tmp = fmt::format("{}.tmp-{}-{}", path, getpid(), random_suffix());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    const int e = errno;
    return errno_error(e, fmt::format("cannot create {}: {}", tmp, errno_text(e)));
  }
  auto fail = [&](const char* step) -> Status {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return errno_error(e, fmt::format("{} {} failed: {}", step, tmp, errno_text(e)));
  };
  // The umask may have removed bits from `mode`; it can never have added any.
  if (::fchmod(fd, mode) != 0) return fail("fchmod");
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write to");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync of");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return errno_error(e, fmt::format("close of {} failed: {}", tmp, errno_text(e)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return errno_error(e, fmt::format("cannot rename {} to {}: {}", tmp, path, errno_text(e)));
  }
  // Make the rename itself durable.
  const std::string dir = split_path(path).first;
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    const int e = errno;
    return errno_error(e, fmt::format("cannot open directory {} to sync it: {}", dir, errno_text(e)));
  }
  const int rc = ::fsync(dfd);
  const int e = errno;
  ::close(dfd);
  if (rc != 0 && e != EINVAL) {  // some file systems cannot sync directories
    return errno_error(e, fmt::format("fsync of directory {} failed: {}", dir, errno_text(e)));
  }
  return {};
}

Result<Bytes> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return errno_error(e, fmt::format("cannot open {}: {}", path, errno_text(e)));
  }
  Bytes out;
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return errno_error(e, fmt::format("cannot read {}: {}", path, errno_text(e)));
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

void remove_stale_temp_files(const std::string& path) {
  auto [dir, base] = split_path(path);
  const std::string prefix = base + ".tmp-";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* ent = ::readdir(d)) {
    std::string_view name(ent->d_name);
    if (name.substr(0, prefix.size()) == prefix) ::unlinkat(::dirfd(d), ent->d_name, 0);
  }
  ::closedir(d);
}

Result<FileLock> FileLock::acquire(const std::string& path) {
  const std::string lock_path = path + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int e = errno;
    return errno_error(e, fmt::format("cannot open lock file {}: {}", lock_path, errno_text(e)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return errno_error(e, fmt::format("{} is in use by another process (lock {} is held)", path, lock_path));
    }
    return errno_error(e, fmt::format("cannot lock {}: {}", lock_path, errno_text(e)));
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace hybrid
