// Spool: the agent's crash-safe outbox on disk. Every event the pipeline emits is appended
// here before anything is sent; the uplink reads it, sends it, and releases it once the
// broker has acknowledged it. Nothing is rewritten in place (flash-friendly): records are
// appended to segment files, and a segment is deleted whole once every record in it is
// released or when the spool must make room.
//
// Layout under `dir` (usually <state_dir>/spool):
//   p<P>-<ID>.seg   segment files (format: agent/core/spool_format.md); P is the priority
//                   (0 high, 1 medium, 2 low), ID a 16-digit hex number, increasing
//   state.json      what has been released (acknowledged), per priority, and the highest
//                   sequence number released or evicted; replaced atomically
//
// One queue per priority, each a chain of segments. Appends are buffered until Flush (the
// pipeline flushes after each round); data reaches the storage by fdatasync according to the
// sync policy (`always` after each flush, `interval`, or `never`), and only synced records
// are readable, so a record is never sent before it would survive a power loss.
//
// Bound: the segment files together stay under max_bytes. To make room for a new record the
// oldest segment of the lowest priority that has one is deleted (low before medium before
// high); its unreleased records are counted as evicted, per priority.
//
// Recovery (Open): every segment is scanned; damaged records and a torn tail are reported
// (log and stats) and skipped, every whole record is kept. Segments found at start are not
// appended to: new records go to new segments.
//
// Threads: Write and Flush are called by the pipeline thread; Read, Release, Sync,
// Checkpoint and the accessors by the uplink thread. All methods are thread-safe; fsync runs
// without holding the lock, so a slow storage does not stall the pipeline.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/core/event.h"
#include "agent/core/pipeline.h"
#include "agent/platform/env.h"

namespace vigil {

enum class SpoolSync { kAlways, kInterval, kNever };
Result<SpoolSync> ParseSpoolSync(std::string_view name);

struct SpoolOptions {
  std::string dir;
  uint64_t max_bytes = 16 << 20;
  uint64_t segment_bytes = 1 << 20;  // a segment is closed when it would grow past this
  SpoolSync sync = SpoolSync::kInterval;
  int64_t sync_interval_ms = 100;
};

// A place in one priority's queue: a segment and a byte offset in its file. Positions order
// by (segment, offset); a position in a segment that no longer exists means "from the next
// segment on".
struct SpoolPosition {
  uint64_t segment = 0;
  uint64_t offset = 0;
  auto operator<=>(const SpoolPosition&) const = default;
};

struct SpoolRecord {
  uint64_t seq = 0;
  std::string payload;  // the event's JSON
  SpoolPosition end;    // just past this record: where the next read starts
};

struct SpoolStats {
  uint64_t bytes = 0;     // segment files on disk (and buffered)
  uint64_t segments = 0;
  uint64_t written = 0;   // records appended
  std::array<uint64_t, kPriorityCount> evicted{};  // records deleted unsent to make room
  uint64_t too_large = 0;       // events over the record limit, dropped
  uint64_t damaged_regions = 0; // found by recovery or reads
  uint64_t damaged_bytes = 0;
  uint64_t torn_tails = 0;
  uint64_t write_errors = 0;
  uint64_t syncs = 0;
  uint64_t sync_errors = 0;
  std::string last_error;
};

class Spool : public Output {
 public:
  // Creates `dir` if needed and recovers what is there (see above). Fails only when the
  // directory cannot be used; damage inside it is reported, not fatal.
  static Result<std::unique_ptr<Spool>> Open(Env& env, SpoolOptions options);
  ~Spool() override;

  // Output: appends the event (its seq and JSON) to its priority's queue; buffered.
  Status Write(const Event& e) override;
  // Writes buffered records to their segment files; with sync `always`, syncs them too.
  Status Flush() override;

  // Syncs what is written but not yet synced (sync `interval`: when the interval has passed
  // since the last sync; `force` syncs now). Records become readable once synced.
  Status Sync(bool force = false);

  // Appends to *out the synced records of one priority from *cursor on, in order, until
  // max_bytes of payload (at least one record when there is one), and moves *cursor past
  // them (and past segments that are gone or damage that cannot be read). Nothing is
  // appended when nothing more is readable.
  Status Read(Priority p, SpoolPosition* cursor, size_t max_bytes, std::vector<SpoolRecord>* out);
  // Where reading starts after a restart: just past the last released record.
  SpoolPosition released(Priority p) const;
  // Everything of priority p before `end` has been delivered. Positions only move forward.
  void Release(Priority p, SpoolPosition end, uint64_t max_seq);
  // Persists the released positions (state.json), then deletes the segments wholly released.
  // Called by the uplink now and then (each file write is a flash write).
  Status Checkpoint();

  // The highest sequence number the spool has seen: in its segments, released or evicted.
  // After a crash, numbers above it were never written here, so never sent.
  uint64_t last_seq() const;
  // True when synced records wait to be read from `from`.
  bool HasReadable(Priority p, SpoolPosition from) const;
  SpoolStats stats() const;
  Json StatsJson() const;

 private:
  struct Segment {
    uint64_t id = 0;
    std::string path;
    uint64_t size = 0;      // bytes in the file (written)
    uint64_t end = 0;       // just past the last whole record written
    uint64_t readable = 0;  // up to here the records are synced (reads stop here)
    uint64_t records = 0;
    uint64_t max_seq = 0;
    std::shared_ptr<AppendFile> file;  // while open for appending or not yet synced
    bool open = false;                 // the queue's current segment for appends
  };
  struct Queue {
    std::deque<Segment> segments;  // oldest first
    std::string buffer;            // records appended, not yet written
    uint64_t buffered_records = 0;
    uint64_t buffered_max_seq = 0;
    SpoolPosition released;
  };

  Spool(Env& env, SpoolOptions options) : env_(env), options_(std::move(options)) {}
  Status Recover();
  void RecoverSegment(const std::string& name, uint8_t priority, uint64_t id);
  void LoadStateLocked();
  std::string StateJsonLocked() const;
  Status WriteLocked(Queue& q);        // buffer -> file
  Status OpenSegmentLocked(size_t p);  // a new current segment for priority p
  void MakeRoomLocked(uint64_t need);  // evicts until `need` more bytes fit
  void EvictLocked(size_t p);          // the oldest segment of priority p
  void DeleteReleasedLocked();         // segments wholly released
  uint64_t UnreleasedRecordsLocked(const Segment& s, const Queue& q);
  void NoteErrorLocked(const Status& st);

  Env& env_;
  const SpoolOptions options_;
  mutable std::mutex mu_;
  std::array<Queue, kPriorityCount> queues_;
  uint64_t next_segment_id_ = 1;
  uint64_t total_bytes_ = 0;  // segment files plus buffers
  bool dir_dirty_ = false;    // a segment was created since the last sync
  uint64_t evictions_logged_ = 0;
  uint64_t last_seq_ = 0;           // max seq appended, released or evicted
  uint64_t released_last_seq_ = 0;  // max seq released or evicted (persisted)
  bool state_dirty_ = false;
  int64_t last_sync_ms_ = 0;
  bool sync_running_ = false;
  SpoolStats stats_;
};

}  // namespace vigil
