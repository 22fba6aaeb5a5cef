#include "agent/core/stats.h"

namespace vigil {

void CollectorStats::Drop(std::string_view reason, uint64_t n) {
  std::lock_guard lock(mu_);
  auto it = dropped_.find(reason);
  if (it == dropped_.end()) it = dropped_.emplace(std::string(reason), 0).first;
  it->second += n;
}

uint64_t CollectorStats::dropped(std::string_view reason) const {
  std::lock_guard lock(mu_);
  auto it = dropped_.find(reason);
  return it == dropped_.end() ? 0 : it->second;
}

uint64_t CollectorStats::dropped_total() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& [_, n] : dropped_) total += n;
  return total;
}

void CollectorStats::Count(std::string_view name, uint64_t n) {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  if (it == counters_.end()) it = counters_.emplace(std::string(name), 0).first;
  it->second += n;
}

uint64_t CollectorStats::count(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : it->second;
}

void CollectorStats::SetSource(std::string source) {
  std::lock_guard lock(mu_);
  source_ = std::move(source);
}

std::string CollectorStats::source() const {
  std::lock_guard lock(mu_);
  return source_;
}

Json CollectorStats::ToJson() const {
  Json j = Json::object();
  j["collector"] = collector_;
  j["collected"] = collected.load();
  j["aggregated"] = aggregated.load();
  j["emitted"] = emitted.load();
  j["flushed_early"] = flushed_early.load();
  std::lock_guard lock(mu_);
  if (!source_.empty()) j["source"] = source_;
  Json dropped = Json::object();
  for (const auto& [reason, n] : dropped_) dropped[reason] = n;
  j["dropped"] = std::move(dropped);
  Json counters = Json::object();
  for (const auto& [name, n] : counters_) counters[name] = n;
  j["counters"] = std::move(counters);
  return j;
}

}  // namespace vigil
