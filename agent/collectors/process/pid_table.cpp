#include "agent/collectors/process/pid_table.h"

#include <algorithm>
#include <vector>

namespace vigil::process {

ProcEntry* PidTable::Find(int32_t pid) {
  auto it = map_.find(pid);
  return it == map_.end() ? nullptr : &it->second.entry;
}

bool PidTable::Put(int32_t pid, ProcEntry entry) {
  const uint64_t serial = next_serial_++;
  auto it = map_.find(pid);
  if (it != map_.end()) {
    it->second = Slot{std::move(entry), serial};
    order_.emplace_back(pid, serial);
    if (order_.size() > 2 * capacity_ + 64) Compact();
    return false;
  }
  bool evicted = false;
  while (map_.size() >= capacity_ && !order_.empty()) {
    auto [old_pid, old_serial] = order_.front();
    order_.pop_front();
    auto old = map_.find(old_pid);
    if (old != map_.end() && old->second.serial == old_serial) {
      map_.erase(old);
      evicted = true;
    }
  }
  map_.emplace(pid, Slot{std::move(entry), serial});
  order_.emplace_back(pid, serial);
  if (order_.size() > 2 * capacity_ + 64) Compact();
  return evicted;
}

std::optional<ProcEntry> PidTable::Take(int32_t pid) {
  auto it = map_.find(pid);
  if (it == map_.end()) return std::nullopt;
  ProcEntry e = std::move(it->second.entry);
  map_.erase(it);
  return e;
}

void PidTable::Compact() {
  std::vector<std::pair<uint64_t, int32_t>> live;
  live.reserve(map_.size());
  for (const auto& [pid, slot] : map_) live.emplace_back(slot.serial, pid);
  std::sort(live.begin(), live.end());
  order_.clear();
  for (const auto& [serial, pid] : live) order_.emplace_back(pid, serial);
}

}  // namespace vigil::process
