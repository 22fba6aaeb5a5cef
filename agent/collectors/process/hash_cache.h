// HashCache: SHA-256 of executables, keyed by what identifies one version of a file (device,
// inode, mtime, size), so a binary run a thousand times is hashed once and a replaced binary
// is hashed again. Bounded: when full, the least recently used entry goes.
//
// Thread-safe (the receive thread looks up, the hashing thread fills).
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "agent/platform/env.h"

namespace vigil::process {

struct FileKey {
  uint64_t dev = 0;
  uint64_t inode = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;

  static FileKey From(const FileInfo& fi) { return {fi.dev, fi.inode, fi.mtime_ns, fi.size}; }
  bool operator==(const FileKey&) const = default;
};

struct FileKeyHash {
  size_t operator()(const FileKey& k) const {
    uint64_t h = k.inode * 0x9e3779b97f4a7c15ull;
    h ^= k.dev + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(k.mtime_ns) + (h << 6) + (h >> 2);
    h ^= k.size + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

class HashCache {
 public:
  explicit HashCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The digest of that file version, marking it most recently used.
  std::optional<std::string> Get(const FileKey& key);
  void Put(const FileKey& key, std::string sha256);
  size_t size() const;

 private:
  using Entry = std::pair<FileKey, std::string>;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<FileKey, std::list<Entry>::iterator, FileKeyHash> index_;
};

}  // namespace vigil::process
