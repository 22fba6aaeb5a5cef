// HashingEmitter: the EventSink of the process collector. Events that need no hashing are
// emitted at once on the caller's thread; events with a HashJob go to a hashing thread, which
// fills data.sha256 and emits them, so reading a large executable never stalls the receive
// thread (and the kernel's queue behind it).
//
// Order is kept: while any event waits for the hashing thread, later events queue behind it.
// The queue is bounded (`queue_limit`); when it is full an event is emitted at once without
// its digest (counted "hash_skipped_busy").
//
// Once started, events that need no hashing are held in a batch on the caller's thread and
// emitted by Flush (the caller flushes after each burst, and at least every few ms), so the
// consumer of the event bus is woken once per burst rather than once per event.
// Without Start, jobs are done inline in Submit and events are emitted at once (for tests).
// Counters: "hashed", "hash_failed", "hash_skipped_busy".
//
// Threads: Submit from one thread (the receive thread); Start and Stop from the owner.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/collectors/process/hash_cache.h"
#include "agent/collectors/process/tracker.h"
#include "agent/core/stats.h"
#include "agent/platform/env.h"

namespace vigil::process {

class HashingEmitter final : public EventSink {
 public:
  using EmitFn = std::function<void(Event&&)>;

  HashingEmitter(Env& env, HashCache& cache, CollectorStats& stats, uint64_t max_size, size_t queue_limit, EmitFn emit);
  ~HashingEmitter() override;

  void Start();
  // Emits what is queued (digests from the cache only, no more file reads), then joins.
  // Idempotent.
  void Stop();

  void Submit(Event&& e, std::optional<HashJob> job) override;

  // Emits the batch held by Submit. Called from the thread that calls Submit.
  void Flush();
  size_t batched() const { return batch_.size(); }

  // The digest of the job's file version: from the cache, else by hashing the running image
  // (job.path), else the file at job.fallback_path if it is still that version. "" when none
  // can be read. Fills the cache.
  std::string Hash(const HashJob& job);

  // Events submitted and not yet emitted.
  size_t pending() const;

 private:
  struct Item {
    Event event;
    std::optional<HashJob> job;
  };
  void Run();

  Env& env_;
  HashCache& cache_;
  CollectorStats& stats_;
  const uint64_t max_size_;
  const size_t queue_limit_;
  EmitFn emit_;
  std::vector<Event> batch_;  // the submitting thread's only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  size_t in_flight_ = 0;  // queued plus the one being worked on
  bool running_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vigil::process
