// The events message of the uplink: the agent sends its events to the hub in batches, one MQTT
// message each (topic vigil/v1/<device>/events, QoS 1). BatchEncoder writes them on the agent;
// DecodeBatch reads and validates them on the hub. The bytes are written out in full, with a
// worked example, in batch_format.md beside this file. In short:
//
//   byte 0     encoding: 0x00 the rest is the JSON as is; 0x01 the rest is one zstd frame
//              holding the JSON. Any other value is an error.
//   the JSON   {"v":1,"device":"<id>","events":[<event>,...],"first_seq":N,"last_seq":M,"count":K}
//              events are the agent's event objects (event.h) as serialised, each with an
//              unsigned integer "seq"; first_seq and last_seq are the lowest and highest seq in
//              the batch (seqs need be neither contiguous nor sorted: a batch mixes
//              priorities); count is the number of events. The trailing keys come after the
//              array so that the encoder can stream; a decoder does not depend on key order.
//
// A compressed message is one zstd frame (RFC 8878) without a content size or checksum, with a
// window of at most 1 << kBatchMaxWindowLog bytes. The encoder writes its last block itself, raw
// (see batch_format.md, "How the encoder keeps to the size limit").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/event.h"
#include "agent/core/status.h"

struct ZSTD_CCtx_s;  // zstd.h stays out of this header

namespace vigil {

inline constexpr int kBatchVersion = 1;
inline constexpr uint8_t kBatchEncodingJson = 0x00;
inline constexpr uint8_t kBatchEncodingZstd = 0x01;
// The encoder's zstd window (128 KiB), which bounds its memory and the decoder's.
inline constexpr int kBatchEncoderWindowLog = 17;
// The largest window a decoder accepts (1 MiB); a frame that asks for more is refused.
inline constexpr int kBatchMaxWindowLog = 20;
// The most JSON the encoder puts in one message by default: a hub accepts at least this much.
inline constexpr size_t kBatchMaxRawBytes = 8 * 1024 * 1024;

// Builds one message at a time, streaming: each event is compressed as it is added, so memory
// is the zstd context (1.4 MB at level 3, 2.2 MB at most at any level; see batch_test) and
// one output buffer of max_message_bytes, whatever the number of events. Both are allocated
// once and reused by every message.
//
// A finished message is never larger than max_message_bytes, nor its JSON than max_raw_bytes.
// It is packed close to the first limit: compressed, with typical events (300-600 bytes of
// JSON) it reaches at least 90 % of it, from 4 KiB up. Keeping to the limit costs flushes,
// which weigh on small messages: a 4 KiB one is about 13 % larger than its JSON compressed in
// one go, a 256 KiB one 0.1 % (batch_format.md). Uncompressed, events are not split, so the
// room left is under one event (and the closing bytes).
//
// Use: Begin, then Add until kFull (or until nothing is left), then Finish; repeat. Not
// thread-safe: one thread at a time.
class BatchEncoder {
 public:
  struct Options {
    size_t max_message_bytes = 256 * 1024;  // the whole message, encoding byte included
    int level = 3;                          // zstd level; out-of-range values are clamped
    bool compress = true;                   // false: encoding 0x00, the JSON as is
    // The JSON of one message, before compression: very repetitive events compress so well
    // that the message would hold more than a hub takes (DecodeBatch's max_raw_bytes).
    size_t max_raw_bytes = kBatchMaxRawBytes;
  };

  // Throws std::bad_alloc, as any allocation would, if zstd cannot allocate its context.
  explicit BatchEncoder(Options options);
  ~BatchEncoder();
  BatchEncoder(const BatchEncoder&) = delete;
  BatchEncoder& operator=(const BatchEncoder&) = delete;

  // Starts a new message for `device_id` (not empty: the decoder refuses an empty one; escaped
  // as a JSON string, bytes that are not UTF-8 replaced), dropping whatever the previous one
  // held. Before the first Begin, Add returns kFull.
  void Begin(std::string_view device_id);

  enum class AddResult {
    kAdded,     // the event is in the message
    kFull,      // not added: no room left in this message. Finish it and Begin another. Every
                // later Add to this message returns kFull (or kTooLarge) as well. With count()
                // 0, zstd failed to allocate its workspace: try again later, after Begin.
    kTooLarge,  // not added: it would not fit even in an empty message. The message is as it
                // was; go on adding others.
  };
  // `event_json` is one serialised event object, with `seq` its "seq" (not checked: the agent
  // wrote both). kTooLarge is known exactly uncompressed, and for max_raw_bytes. Compressed,
  // an event's size is only known by compressing it, so an event too large for any message is
  // reported kFull when the message already holds events, and kTooLarge when tried in an
  // empty one.
  AddResult Add(std::string_view event_json, uint64_t seq);

  // Closes the message and returns it: valid until the next Begin (calling Finish again returns
  // the same bytes). A message needs at least one event: with none, the view is empty (and
  // after zstd failed, see kFull).
  std::string_view Finish();

  size_t count() const { return count_; }  // events in the message
  // Bytes of the JSON the message holds: what Finish writes (or wrote), before compression;
  // 0 with no events.
  size_t raw_bytes() const;
  // Heap the encoder keeps between messages: the zstd context and the output buffer.
  size_t memory_bytes() const;

 private:
  enum class FeedResult { kOk, kNoRoom, kError };
  void Restart();
  void Put(std::string_view bytes);
  FeedResult Feed(std::string_view bytes, bool flush);
  FeedResult Flush() { return Feed({}, true); }
  FeedResult FeedEvent(std::string_view event_json, bool flush);
  bool FitsByBound(size_t more_raw, size_t tail) const;

  Options options_;
  ZSTD_CCtx_s* cctx_ = nullptr;  // compress only; reset, not recreated, by Begin
  std::string out_;              // max_message_bytes long; the message is out_[0, pos_)
  size_t pos_ = 0;               // bytes of out_ written: the encoding byte, then zstd output or JSON
  std::string prefix_;           // {"v":1,"device":"...","events":[  (goes in with the first event)
  size_t raw_ = 0;               // JSON bytes put in the message so far
  size_t unflushed_ = 0;         // of those, given to zstd since its last flush
  size_t count_ = 0;
  uint64_t first_seq_ = 0;
  uint64_t last_seq_ = 0;
  bool begun_ = false;     // Begin was called
  bool full_ = false;      // kFull was returned, or the message is finished: it takes no more
  bool sealed_ = false;    // zstd holds bytes that are not in the message: never flush it again
  bool broken_ = false;    // zstd failed (out of memory): Finish returns nothing
  bool finished_ = false;  // out_[0, pos_) is the finished message
};

// A batch as DecodeBatch returns it.
struct DecodedBatch {
  std::string device;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::vector<Json> events;  // in message order; each an object with an unsigned "seq"
  size_t raw_bytes = 0;      // size of the JSON (after decompression)
  bool compressed = false;   // encoding 0x01

  // The JSON text of events[i] as the message holds it, so that a store can keep it without
  // serialising the event again; empty when the text could not be tied to the parsed events
  // (a top-level key written with an escape, or "events" twice: the parser reads those
  // differently from a plain walk), and then events[i].dump() is the text.
  std::string_view EventText(size_t i) const {
    return i < spans.size() ? std::string_view(text).substr(spans[i].first, spans[i].second) : std::string_view();
  }
  std::string text;                                // the JSON (kept only with spans)
  std::vector<std::pair<size_t, size_t>> spans;    // offset and length of each event in text
};

// Decodes and validates one message from the network; trusts nothing in it. Refused, with a
// message saying what is wrong and where:
//   - empty input; an encoding byte other than 0x00 and 0x01;
//   - encoding 0x01: bytes that are not exactly one complete zstd frame (another magic number,
//     a truncated frame, bytes after its end), a frame that fails to decompress (Corruption),
//     a window over 1 << kBatchMaxWindowLog;
//   - JSON over max_raw_bytes. A frame that declares a larger content size is refused before
//     decompressing; otherwise decompression stops as soon as the output passes the bound, so
//     a decompression bomb costs an output buffer of max_raw_bytes at most (and zstd's window,
//     1 MiB at most). JSON within the bound is parsed whole: its tree takes several times its
//     size, which is for the caller to weigh when choosing the bound;
//   - invalid JSON (the byte offset in the JSON text is given) or JSON that is not an object;
//   - "v" not 1; "device" not a non-empty string; "events" not a non-empty array of objects;
//     an event without an unsigned integer "seq", or whose "device" (when present) is not the
//     batch's; two events with the same seq; "count", "first_seq" or "last_seq" missing, not an
//     unsigned integer, or not the number of events, the lowest seq, the highest seq.
// Keys it does not know are ignored; an object that repeats a key keeps the last value (the
// encoder never repeats one). Events are checked only for seq and device; the rest of
// each event is for EventFromJson. Errors are InvalidArgument, except Corruption for a zstd
// frame whose data fails to decompress. Never throws. A pure function: any thread may call it.
Result<DecodedBatch> DecodeBatch(std::string_view message, size_t max_raw_bytes);

}  // namespace vigil
