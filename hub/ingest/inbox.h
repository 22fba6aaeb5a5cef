// The hub's inbox: every message taken from the broker is appended here before anything else is
// done with it, and released once the store has committed it. After a crash the hub replays
// what was appended and not released; the store keeps each (device, seq) once, so a replay
// never duplicates.
//
// Why: libmosquitto 2.0 acknowledges a QoS 1 message (PUBACK) before it hands the message to
// the application, so from then on the broker has forgotten it. Appending it to a file at once
// narrows the window in which a killed hub loses a message to the time between that PUBACK and
// one write(2): data written survives the process (it is in the page cache); an fsync policy
// makes it survive power loss as well (`Options::sync`).
//
// Files, in the inbox directory:
//   inbox-<n>.log    segments: the spool format (agent/core/spool_format.md), a 16-byte header
//                    then records; a record's seq is the message's number (from 1, increasing
//                    across segments), its payload `<topic length: 2 bytes LE><topic><message>`.
//   released         one line, "N": every message numbered N or below is stored.
// A segment is closed when it passes Options::segment_bytes; a closed segment whose messages
// are all released is deleted.
//
// Threads: Append may be called from several threads; Release from one; Open before either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil::hub {

class Inbox {
 public:
  struct Options {
    size_t segment_bytes = 64 * 1024 * 1024;
    bool sync = false;  // fsync every append (power-loss safe, slower)
  };

  struct Message {
    uint64_t number = 0;
    std::string topic;
    std::string payload;
  };

  // Opens (creating it, mode 0700) the inbox in `dir`. Messages appended and not released by an
  // earlier run are returned by TakeUnreleased. Damaged records are skipped and counted
  // (damaged()), never fatal.
  static Result<std::unique_ptr<Inbox>> Open(std::string dir, Options options);
  ~Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // The messages a previous run left unreleased, in order (once; later calls return none).
  std::vector<Message> TakeUnreleased();

  // Appends one message; returns its number. The largest message is kMaxMessageBytes.
  Result<uint64_t> Append(std::string_view topic, std::string_view payload);
  // Every message numbered `number` or below is stored: record it, and delete segments that
  // hold nothing newer.
  Status Release(uint64_t number);

  uint64_t damaged_records() const { return damaged_; }
  static constexpr size_t kMaxTopicBytes = 512;
  static constexpr size_t kMaxMessageBytes = (1u << 20) - kMaxTopicBytes - 2;

 private:
  struct Segment {
    uint64_t id = 0;
    uint64_t last_number = 0;  // highest message number in it (0: none)
  };
  Inbox(std::string dir, Options options) : dir_(std::move(dir)), options_(options) {}
  Status Recover();
  Status OpenNewSegment();
  std::string SegmentPath(uint64_t id) const;

  const std::string dir_;
  const Options options_;
  std::mutex mutex_;
  int fd_ = -1;
  size_t segment_size_ = 0;
  std::vector<Segment> segments_;  // oldest first; the last is the one appended to
  uint64_t next_number_ = 1;
  uint64_t released_ = 0;
  uint64_t damaged_ = 0;
  std::vector<Message> unreleased_;
};

}  // namespace vigil::hub
