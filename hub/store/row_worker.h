// A bounded queue of stored event rows and the thread that hands them, a round at a time, to a
// handler: how the hub's consumers of ingest (the analyzer, the SBoM feed) take what the
// Ingestor's OnStored hook gives them without ever making ingest wait. A full queue drops the
// rows and counts them.
//
// Threads: Start and Stop from one thread; Enqueue from the ingest thread; WaitIdle and
// counts() from any thread. The handler runs on the worker's own thread only.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "hub/store/store.h"

namespace vigil::hub {

class RowWorker {
 public:
  using Handler = std::function<void(std::vector<EventRow>& rows)>;
  using Filter = std::function<bool(const EventRow& row)>;

  struct Counts {
    uint64_t queued = 0;    // rows taken into the queue
    uint64_t dropped = 0;   // rows wanted but refused: the queue was full
    uint64_t skipped = 0;   // rows the filter did not want
    size_t queue_rows = 0;  // waiting now
    size_t queue_bytes = 0;
  };

  RowWorker(size_t max_rows, size_t max_bytes) : max_rows_(max_rows), max_bytes_(max_bytes) {}
  ~RowWorker() { Stop(); }
  RowWorker(const RowWorker&) = delete;
  RowWorker& operator=(const RowWorker&) = delete;

  void Start(Handler handler);
  void Stop();  // rows still queued are left unhandled

  // Copies the rows `wanted` accepts (all when it is empty) into the queue; never blocks on
  // the handler.
  void Enqueue(std::span<const BatchRows> batches, const Filter& wanted = {});

  // Waits until every row queued so far has been handled; false on timeout.
  bool WaitIdle(int64_t timeout_ms);

  Counts counts() const;

 private:
  void Run();

  const size_t max_rows_;
  const size_t max_bytes_;
  Handler handler_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<EventRow> queue_;
  Counts counts_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vigil::hub
