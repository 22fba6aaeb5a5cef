#include "agent/collectors/process/hash_cache.h"

namespace vigil::process {

std::optional<std::string> HashCache::Get(const FileKey& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void HashCache::Put(const FileKey& key, std::string sha256) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->second = std::move(sha256);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (index_.size() >= capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(key, std::move(sha256));
  index_.emplace(key, lru_.begin());
}

size_t HashCache::size() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

}  // namespace vigil::process
