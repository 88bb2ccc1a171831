#include "base/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hybrid {

Status PrivateFile::write(const std::string& path, ByteView data) {
  remove();
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
      return make_error(path + " exists and is not a regular file; not replacing it");
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return make_error("could not replace " + path + ": " + std::strerror(errno));
    }
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error("could not create " + path + " (0600, not following links): " + std::strerror(errno));
  }
  path_ = path;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      remove();
      return make_error("could not write " + path + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    const int e = errno;
    remove();
    return make_error("could not write " + path + ": " + std::strerror(e));
  }
  return {};
}

void PrivateFile::remove() {
  if (path_.empty()) return;
  ::unlink(path_.c_str());
  path_.clear();
}

Status make_private_dirs(const std::string& dir) {
  if (dir.empty()) return {};
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return make_error(dir + " exists and is not a directory");
    return {};
  }
  const auto slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) HYBRID_TRY_STATUS(make_private_dirs(dir.substr(0, slash)));
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return make_error("could not create the directory " + dir + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace hybrid
