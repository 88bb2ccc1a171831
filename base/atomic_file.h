// Crash-safe file replacement: write a temporary file beside the target, fsync it, rename
// it over the target, fsync the directory. After a crash or SIGKILL at any point the
// target holds either the old or the new contents, never a mix.
#pragma once

#include <string>
#include <sys/types.h>

#include "base/bytes.h"

namespace hybrid {

// Writes `contents` to `path` atomically, creating it with `mode` (the process umask does
// not widen it). The temporary file is named "<path>.tmp-<pid>-<random>".
Status atomic_write_file(const std::string& path, ByteView contents, mode_t mode = 0600);

// Reads a whole file; a missing file is an error whose code is ENOENT.
Result<Bytes> read_file(const std::string& path);

// Removes "<path>.tmp-*" files left behind by a writer that was killed mid-write. Call
// only while holding the file's lock (no other writer can be using them).
void remove_stale_temp_files(const std::string& path);

// An exclusive advisory lock (flock) on "<path>.lock", held until destroyed.
class FileLock {
 public:
  static Result<FileLock> acquire(const std::string& path);
  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileLock& operator=(FileLock&& o) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace hybrid
