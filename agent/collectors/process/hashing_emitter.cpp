#include "agent/collectors/process/hashing_emitter.h"

namespace vigil::process {

HashingEmitter::HashingEmitter(Env& env, HashCache& cache, CollectorStats& stats, uint64_t max_size, size_t queue_limit,
                               EmitFn emit)
    : env_(env),
      cache_(cache),
      stats_(stats),
      max_size_(max_size),
      queue_limit_(queue_limit == 0 ? 1 : queue_limit),
      emit_(std::move(emit)) {}

HashingEmitter::~HashingEmitter() { Stop(); }

void HashingEmitter::Start() {
  std::lock_guard lock(mu_);
  if (running_ || stopping_) return;
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void HashingEmitter::Stop() {
  Flush();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  running_ = false;
}

std::string HashingEmitter::Hash(const HashJob& job) {
  if (auto sha = cache_.Get(job.key)) return *sha;
  for (const std::string* path : {&job.path, &job.fallback_path}) {
    if (path->empty()) continue;
    auto fi = env_.Stat(*path);
    if (!fi.ok() || FileKey::From(*fi) != job.key) continue;  // gone, or another version now
    auto sha = env_.Sha256File(*path, max_size_);
    if (!sha.ok()) continue;
    cache_.Put(job.key, *sha);
    stats_.Count("hashed");
    return std::move(*sha);
  }
  stats_.Count("hash_failed");
  return "";
}

void HashingEmitter::Submit(Event&& e, std::optional<HashJob> job) {
  std::unique_lock lock(mu_);
  if (running_ && !stopping_) {
    if (!job && in_flight_ == 0) {
      lock.unlock();
      batch_.push_back(std::move(e));
      return;
    }
    if (in_flight_ < queue_limit_) {
      // Everything batched is older than this event: it goes first.
      lock.unlock();
      Flush();
      lock.lock();
      queue_.push_back(Item{std::move(e), std::move(job)});
      ++in_flight_;
      lock.unlock();
      cv_.notify_one();
      return;
    }
    stats_.Count("hash_skipped_busy");
    job.reset();
  }
  lock.unlock();
  Flush();
  if (job) {
    std::string sha = Hash(*job);
    if (!sha.empty()) e.data["sha256"] = std::move(sha);
  }
  emit_(std::move(e));
}

void HashingEmitter::Flush() {
  for (Event& e : batch_) emit_(std::move(e));
  batch_.clear();
}

void HashingEmitter::Run() {
  for (;;) {
    Item item;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      item = std::move(queue_.front());
      queue_.pop_front();
      stopping = stopping_;
    }
    if (item.job) {
      std::string sha;
      if (stopping)
        sha = cache_.Get(item.job->key).value_or("");
      else
        sha = Hash(*item.job);
      if (!sha.empty()) item.event.data["sha256"] = std::move(sha);
    }
    emit_(std::move(item.event));
    std::lock_guard lock(mu_);
    --in_flight_;
  }
}

size_t HashingEmitter::pending() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

}  // namespace vigil::process
