// A file only its owner may read, made for a short while: the QR code PNG that a person
// (or a screen reader) opens while a transaction runs. It carries the QR secret.
#pragma once

#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace hybrid {

// Writes `data` to `path` as a new file with mode 0600: a leftover regular file or symlink
// at `path` is unlinked first (never followed), then the file is created with
// O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink planted in between makes the write fail instead
// of writing through it. Removes the file again when destroyed (or on remove()).
class PrivateFile {
 public:
  PrivateFile() = default;
  ~PrivateFile() { remove(); }
  PrivateFile(const PrivateFile&) = delete;
  PrivateFile& operator=(const PrivateFile&) = delete;

  Status write(const std::string& path, ByteView data);
  void remove();  // unlinks the file this object created, if any
  const std::string& path() const { return path_; }

 private:
  std::string path_;  // set while the file exists
};

// Creates `dir` (and missing parents) with mode 0700 for the new ones; an existing `dir`
// is left as it is.
Status make_private_dirs(const std::string& dir);

}  // namespace hybrid
