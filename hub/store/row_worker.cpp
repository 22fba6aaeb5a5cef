#include "hub/store/row_worker.h"

#include <chrono>
#include <iterator>

namespace vigil::hub {

void RowWorker::Start(Handler handler) {
  handler_ = std::move(handler);
  thread_ = std::thread([this] { Run(); });
}

void RowWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RowWorker::Enqueue(std::span<const BatchRows> batches, const Filter& wanted) {
  std::lock_guard lock(mu_);
  if (stop_) return;
  bool added = false;
  for (const BatchRows& batch : batches) {
    for (const EventRow& row : batch.events) {
      if (wanted && !wanted(row)) {
        ++counts_.skipped;
        continue;
      }
      if (queue_.size() >= max_rows_ || counts_.queue_bytes + row.json.size() > max_bytes_) {
        ++counts_.dropped;
        continue;
      }
      queue_.push_back(row);
      counts_.queue_bytes += row.json.size();
      ++counts_.queued;
      added = true;
    }
  }
  counts_.queue_rows = queue_.size();
  if (added) cv_.notify_one();
}

void RowWorker::Run() {
  std::vector<EventRow> rows;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    rows.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    counts_.queue_rows = 0;
    counts_.queue_bytes = 0;
    busy_ = true;
    lock.unlock();
    handler_(rows);
    rows.clear();
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  busy_ = false;
  idle_cv_.notify_all();
}

bool RowWorker::WaitIdle(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return stop_ || (queue_.empty() && !busy_); });
}

RowWorker::Counts RowWorker::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

}  // namespace vigil::hub
