// The on-disk format of the spool, the agent's persistent outbox: segment files of records,
// each record framed with a marker, its length, its sequence number and a CRC-32C. This file
// encodes and decodes bytes only; reading and writing the files is the uplink's (agent/uplink).
// The layout is drawn out, with offsets, in spool_format.md beside this file.
//
// Decoding never trusts the bytes: a record that fails a check is reported as damage with its
// offset and the reason, and the scan goes on from the next record marker whose record passes
// every check, so a damaged record loses only itself. Bytes at the end that are not a whole
// record (a write cut short by power loss) are reported as a torn tail.
//
// Everything here is a pure function of its input; any thread may call it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil::spool {

inline constexpr std::string_view kFileMagic = "VGSPOOL1";  // the first 8 bytes of a segment
inline constexpr size_t kFileHeaderBytes = 16;
inline constexpr uint32_t kRecordMarker = 0x52475356;  // "VSGR" as little-endian bytes
inline constexpr size_t kRecordHeaderBytes = 20;
inline constexpr uint32_t kMaxPayloadBytes = 1u << 20;  // one event; far above any real one

// CRC-32C (Castagnoli, reflected, as in iSCSI and ext4), continuing from `crc` (0 to start).
uint32_t Crc32c(std::string_view bytes, uint32_t crc = 0);

// The 16-byte header that starts every segment file: the magic, then the priority of the
// events the segment holds (0 high, 1 medium, 2 low), then zeros.
std::string EncodeFileHeader(uint8_t priority);
// The priority a segment header names. Corruption when the bytes are not a header this
// version wrote (too short, another magic, a priority above 2, reserved bytes not zero).
Result<uint8_t> DecodeFileHeader(std::string_view bytes);

// Appends one record to *out. The payload must be at most kMaxPayloadBytes (checked by the
// caller: the event serialiser never comes near it).
void AppendRecord(uint64_t seq, std::string_view payload, std::string* out);

struct Record {
  uint64_t seq = 0;
  std::string_view payload;  // points into the scanned bytes
  size_t offset = 0;         // of the record's first byte, counted as the scanner was told
  size_t size = 0;           // header and payload
};

struct Damage {
  size_t offset = 0;  // first byte not taken as part of a record
  size_t bytes = 0;   // how many bytes were skipped from there
  std::string reason;
};

// Reads the records of one segment's body (the bytes after its file header), in order.
class RecordScanner {
 public:
  // `base_offset` is added to every offset reported (the file header's size, typically), so
  // that offsets name positions in the file.
  explicit RecordScanner(std::string_view body, size_t base_offset = 0) : body_(body), base_(base_offset) {}

  // The next whole record, or nullopt at the end. Damage met on the way is added to damage().
  std::optional<Record> Next();

  const std::vector<Damage>& damage() const { return damage_; }
  // True when the bytes end with damage: the last write was cut short (or the end is garbage).
  bool torn_tail() const {
    return !damage_.empty() && damage_.back().offset + damage_.back().bytes == base_ + body_.size();
  }
  // Offset (as reported) just past the last whole record: where a writer may append.
  size_t end_of_records() const { return base_ + good_end_; }

 private:
  // The record at `pos` if it passes every check; else nullopt and, when `why` is given, the
  // reason.
  std::optional<Record> RecordAt(size_t pos, std::string* why) const;

  std::string_view body_;
  size_t base_ = 0;
  size_t pos_ = 0;
  size_t good_end_ = 0;
  std::vector<Damage> damage_;
};

}  // namespace vigil::spool
