#include "agent/core/batch.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace vigil {
namespace {

// A zstd block header (RFC 8878, 3.1.1.2): 3 bytes, little-endian; bit 0 Last_Block, bits 1-2
// Block_Type (0 = Raw), bits 3-23 Block_Size.
constexpr size_t kBlockHeaderBytes = 3;
constexpr uint32_t kLastBlockFlag = 1;
constexpr std::string_view kZstdMagic("\x28\xb5\x2f\xfd", 4);  // 0xFD2FB528, little-endian

size_t Digits(uint64_t v) {
  size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

// The bytes that close the JSON: ],"first_seq":N,"last_seq":M,"count":K}
constexpr std::string_view kTailSeq1 = "],\"first_seq\":";
constexpr std::string_view kTailSeq2 = ",\"last_seq\":";
constexpr std::string_view kTailCount = ",\"count\":";

size_t TailBytes(uint64_t first, uint64_t last, size_t count) {
  return kTailSeq1.size() + Digits(first) + kTailSeq2.size() + Digits(last) + kTailCount.size() + Digits(count) + 1;
}

std::string Tail(uint64_t first, uint64_t last, size_t count) {
  std::string t;
  t.reserve(TailBytes(first, last, count));
  t.append(kTailSeq1).append(std::to_string(first));
  t.append(kTailSeq2).append(std::to_string(last));
  t.append(kTailCount).append(std::to_string(count));
  t.push_back('}');
  return t;
}

// Most bytes zstd can still write for `raw` bytes given to it since its last flush: the frame
// header if not yet written, and blocks, none larger than its input plus its header (zstd
// stores a block raw when compressing it does not pay). ZSTD_compressBound covers all of that:
// it is at least raw + 64 below one block (128 KiB), and raw + raw / 256 above.
uint64_t PendingBound(size_t raw) {
  if (raw > std::numeric_limits<size_t>::max() / 2) return std::numeric_limits<uint64_t>::max() / 4;
  return ZSTD_compressBound(raw);
}

}  // namespace

BatchEncoder::BatchEncoder(Options options) : options_(options) {
  if (options_.compress) {
    cctx_ = ZSTD_createCCtx();
    if (cctx_ == nullptr) throw std::bad_alloc();
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, options_.level);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_windowLog, kBatchEncoderWindowLog);
    // From level 3 up, zstd sizes its match tables for windows of 2 MiB and more: with this
    // window, the context takes 1.7 MB at level 3, 13 MB at level 9, 85 MB at level 19. Tables
    // sized for this window compress as well (within 0.5 %) and bring it to 1.4 MB at level 3,
    // 1.3-1.6 MB up to level 16, 2.2 MB at 19 (zstd 1.5.4; levels 1 and 2: 1.0 and 1.2 MB).
    if (options_.level >= 3) {
      ZSTD_CCtx_setParameter(cctx_, ZSTD_c_hashLog, kBatchEncoderWindowLog - 1);
      ZSTD_CCtx_setParameter(cctx_, ZSTD_c_chainLog, kBatchEncoderWindowLog - 1);
    }
    // No checksum: the last block is written here, not by zstd (integrity is TLS's and the
    // decoder's checks). No content size: it is not known when the frame starts.
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_contentSizeFlag, 0);
  }
  out_.resize(options_.max_message_bytes);
}

BatchEncoder::~BatchEncoder() { ZSTD_freeCCtx(cctx_); }

void BatchEncoder::Begin(std::string_view device_id) {
  prefix_ = "{\"v\":" + std::to_string(kBatchVersion) + ",\"device\":";
  prefix_ += Json(std::string(device_id)).dump(-1, ' ', false, Json::error_handler_t::replace);
  prefix_ += ",\"events\":[";
  begun_ = true;
  Restart();
}

// Empties the message. The encoding byte is written; the prefix goes in with the first event.
void BatchEncoder::Restart() {
  count_ = 0;
  first_seq_ = 0;
  last_seq_ = 0;
  raw_ = 0;
  unflushed_ = 0;
  pos_ = 0;
  full_ = sealed_ = broken_ = finished_ = false;
  if (cctx_) ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_only);
  if (out_.empty()) return;  // max_message_bytes 0: every Add says kTooLarge
  out_[pos_++] = static_cast<char>(options_.compress ? kBatchEncodingZstd : kBatchEncodingJson);
}

// Copies `bytes` to the output. Add's checks leave room for them.
void BatchEncoder::Put(std::string_view bytes) {
  assert(bytes.size() <= out_.size() - pos_);
  bytes.copy(out_.data() + pos_, bytes.size());
  pos_ += bytes.size();
}

// Gives `bytes` to zstd; with `flush` (ZSTD_e_flush), everything comes out and pos_ is exact.
BatchEncoder::FeedResult BatchEncoder::Feed(std::string_view bytes, bool flush) {
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  ZSTD_outBuffer out{out_.data(), out_.size(), pos_};
  const ZSTD_EndDirective mode = flush ? ZSTD_e_flush : ZSTD_e_continue;
  for (;;) {
    const size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
    pos_ = out.pos;
    if (ZSTD_isError(left)) return FeedResult::kError;  // zstd could not allocate its workspace
    if (flush ? left == 0 : in.pos == in.size) break;
    if (out.pos == out.size) return FeedResult::kNoRoom;
  }
  raw_ += bytes.size();
  unflushed_ = flush ? 0 : unflushed_ + bytes.size();
  return FeedResult::kOk;
}

// The separator (or, first, the prefix) and the event.
BatchEncoder::FeedResult BatchEncoder::FeedEvent(std::string_view event_json, bool flush) {
  FeedResult r = Feed(count_ == 0 ? std::string_view(prefix_) : std::string_view(","), false);
  return r == FeedResult::kOk ? Feed(event_json, flush) : r;
}

// Whether, after `more_raw` more bytes, the message surely still closes within the limit: what
// is written, plus the most zstd can write for what it holds, plus the raw last block.
bool BatchEncoder::FitsByBound(size_t more_raw, size_t tail) const {
  const uint64_t need = uint64_t{pos_} + PendingBound(unflushed_ + more_raw) + kBlockHeaderBytes + tail;
  return need <= out_.size();
}

BatchEncoder::AddResult BatchEncoder::Add(std::string_view event_json, uint64_t seq) {
  if (!begun_) return AddResult::kFull;
  const size_t more = (count_ == 0 ? prefix_.size() : 1) + event_json.size();
  const uint64_t first = count_ > 0 ? std::min(first_seq_, seq) : seq;
  const uint64_t last = count_ > 0 ? std::max(last_seq_, seq) : seq;
  const size_t tail = TailBytes(first, last, count_ + 1);
  auto added = [&] {
    first_seq_ = first;
    last_seq_ = last;
    ++count_;
    return AddResult::kAdded;
  };
  auto broke = [&] {  // zstd failed: nothing more goes in, Finish gives nothing
    broken_ = full_ = true;
    return AddResult::kFull;
  };

  // The JSON's size: a hub takes no more than max_raw_bytes.
  if (uint64_t{prefix_.size()} + event_json.size() + TailBytes(seq, seq, 1) > options_.max_raw_bytes)
    return AddResult::kTooLarge;
  if (uint64_t{raw_} + more + tail > options_.max_raw_bytes) {
    full_ = true;
    return AddResult::kFull;
  }

  if (!options_.compress) {
    const uint64_t alone = 1 + uint64_t{prefix_.size()} + event_json.size() + TailBytes(seq, seq, 1);
    if (alone > out_.size()) return AddResult::kTooLarge;
    if (full_ || finished_ || uint64_t{pos_} + more + tail > out_.size()) {
      full_ = true;
      return AddResult::kFull;
    }
    Put(count_ == 0 ? std::string_view(prefix_) : std::string_view(","));
    Put(event_json);
    raw_ += more;
    return added();
  }

  if (full_ || finished_) return AddResult::kFull;
  if (out_.empty()) return AddResult::kTooLarge;
  // 1. It surely fits, counting every byte zstd holds at its worst: give it, let zstd buffer.
  // 2. If not, flush, so that what is written is exact, and check again.
  if (!FitsByBound(more, tail) && unflushed_ > 0 && Flush() != FeedResult::kOk) return broke();
  if (FitsByBound(more, tail)) return FeedEvent(event_json, false) == FeedResult::kOk ? added() : broke();
  // 3. Only compressing it tells. Everything is written up to `checkpoint`, at a block boundary:
  // give zstd the event and flush; if that leaves no room for the last block, cut the output
  // back to the checkpoint. The message is then what it was, but zstd holds bytes the message
  // does not: it is sealed, and Finish closes it without zstd.
  const size_t checkpoint = pos_;
  const size_t raw_before = raw_;
  const FeedResult r = FeedEvent(event_json, true);
  if (r == FeedResult::kError) return broke();
  if (r == FeedResult::kOk && uint64_t{pos_} + kBlockHeaderBytes + tail <= out_.size()) return added();
  if (count_ == 0) {  // the message is empty: no message can hold this event
    Restart();
    return AddResult::kTooLarge;
  }
  pos_ = checkpoint;
  raw_ = raw_before;
  unflushed_ = 0;
  sealed_ = full_ = true;
  return AddResult::kFull;
}

std::string_view BatchEncoder::Finish() {
  if (finished_) return std::string_view(out_).substr(0, pos_);
  if (count_ == 0 || broken_) return {};
  const std::string tail = Tail(first_seq_, last_seq_, count_);
  if (options_.compress) {
    // Everything zstd holds goes out, then the tail as the frame's last block, raw. Add left
    // room for both.
    if ((!sealed_ && unflushed_ > 0 && Flush() != FeedResult::kOk) ||
        uint64_t{pos_} + kBlockHeaderBytes + tail.size() > out_.size()) {
      broken_ = full_ = true;  // not reached: never a message over the limit, whatever happens
      return {};
    }
    const uint32_t header = kLastBlockFlag | static_cast<uint32_t>(tail.size()) << 3;
    const char block_header[kBlockHeaderBytes] = {static_cast<char>(header & 0xFF),
                                                  static_cast<char>((header >> 8) & 0xFF),
                                                  static_cast<char>((header >> 16) & 0xFF)};
    Put(std::string_view(block_header, kBlockHeaderBytes));
  }
  Put(tail);
  raw_ += tail.size();
  finished_ = full_ = true;
  return std::string_view(out_).substr(0, pos_);
}

size_t BatchEncoder::raw_bytes() const {
  if (count_ == 0 || finished_) return raw_;
  return raw_ + TailBytes(first_seq_, last_seq_, count_);
}

size_t BatchEncoder::memory_bytes() const { return (cctx_ ? ZSTD_sizeof_CCtx(cctx_) : 0) + out_.capacity(); }

// ---------------------------------------------------------------------------------------------
// Decoding

namespace {

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// At most about `max` bytes of `s` (cut at a character boundary), for error messages: the
// input is the network's, and may be long.
std::string Clip(std::string s, size_t max = 120) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s + "...";
}

std::string Brief(const Json& j) { return Clip(j.dump(-1, ' ', false, Json::error_handler_t::replace), 60); }

std::string Hex2(uint8_t b) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

// The JSON held by one zstd frame (`frame` starts at byte `base` of the message), at most
// `max_raw_bytes` of it.
Result<std::string> Decompress(std::string_view frame, size_t base, size_t max_raw_bytes) {
  if (frame.size() < kZstdMagic.size() || frame.substr(0, kZstdMagic.size()) != kZstdMagic)
    return Status::InvalidArgument("batch: encoding 0x01 but no zstd frame at byte " + std::to_string(base) +
                                   " (magic number is not 28 b5 2f fd)");
  const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR)
    return Status::InvalidArgument("batch: invalid or truncated zstd frame header at byte " + std::to_string(base));
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > max_raw_bytes)
    return Status::InvalidArgument("batch: the zstd frame declares " + std::to_string(declared) +
                                   " bytes of JSON, over the limit of " + std::to_string(max_raw_bytes));

  // One context per thread, kept: creating one per message costs its window buffer each time.
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx;
  if (!dctx) {
    dctx.reset(ZSTD_createDCtx());
    if (!dctx) return Status::Internal("batch: out of memory for a zstd context");
    ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kBatchMaxWindowLog);
  } else {
    ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_only);  // keeps windowLogMax
  }

  // The output grows by doubling, to one byte past the limit: filling that byte means over it.
  // Each step allocates exactly the size asked (std::string's own growth could double past it).
  const size_t cap = max_raw_bytes < std::numeric_limits<size_t>::max() - 1 ? max_raw_bytes + 1 : max_raw_bytes;
  size_t want = std::max<size_t>(64 * 1024, frame.size() < cap / 4 ? frame.size() * 4 : cap);
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN) want = static_cast<size_t>(declared) + 1;
  std::string raw(std::min(want, cap), '\0');
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  ZSTD_outBuffer out{raw.data(), raw.size(), 0};
  for (;;) {
    const size_t in_before = in.pos;
    const size_t out_before = out.pos;
    const size_t left = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(left)) {
      if (ZSTD_getErrorCode(left) == ZSTD_error_frameParameter_windowTooLarge)
        return Status::InvalidArgument("batch: the zstd frame needs a window over " +
                                       std::to_string(size_t{1} << kBatchMaxWindowLog) + " bytes");
      return Status::Corruption(std::string("batch: the zstd frame does not decompress (") + ZSTD_getErrorName(left) +
                                "), near byte " + std::to_string(base + in.pos));
    }
    if (out.pos > max_raw_bytes)
      return Status::InvalidArgument("batch: the zstd frame holds more than the limit of " +
                                     std::to_string(max_raw_bytes) + " bytes of JSON");
    if (left == 0) break;  // the frame is complete
    if (out.pos == out.size) {
      std::string bigger(out.size > cap / 2 ? cap : out.size * 2, '\0');
      std::copy_n(raw.data(), out.pos, bigger.data());
      raw.swap(bigger);
      out.dst = raw.data();
      out.size = raw.size();
    } else if (in.pos == in.size) {
      return Status::InvalidArgument("batch: the zstd frame is truncated (the message ends at byte " +
                                     std::to_string(base + frame.size()) + ", inside it)");
    } else if (in.pos == in_before && out.pos == out_before) {
      return Status::Internal("batch: zstd made no progress at byte " + std::to_string(base + in.pos));
    }
  }
  if (in.pos != in.size)
    return Status::InvalidArgument("batch: " + std::to_string(in.size - in.pos) +
                                   " bytes after the end of the zstd frame, from byte " +
                                   std::to_string(base + in.pos));
  raw.resize(out.pos);
  return raw;
}

// The unsigned integer at `key` of object `j`, or an error naming `where` and the key.
Result<uint64_t> UnsignedAt(const Json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) return Status::InvalidArgument("batch: " + where + "missing key '" + key + "'");
  if (!it->is_number_unsigned())
    return Status::InvalidArgument("batch: " + where + "key '" + key + "' is not an unsigned integer");
  return it->get<uint64_t>();
}

Result<DecodedBatch> Validate(Json& j, DecodedBatch batch) {
  if (!j.is_object()) return Status::InvalidArgument("batch: the JSON is not an object");
  {
    auto it = j.find("v");
    if (it == j.end()) return Status::InvalidArgument("batch: missing key 'v'");
    if (!it->is_number_unsigned() || it->get<uint64_t>() != static_cast<uint64_t>(kBatchVersion))
      return Status::InvalidArgument("batch: key 'v' is " + Brief(*it) + ", this version reads 1");
  }
  {
    auto it = j.find("device");
    if (it == j.end()) return Status::InvalidArgument("batch: missing key 'device'");
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return Status::InvalidArgument("batch: key 'device' is not a non-empty string");
    batch.device = it->get<std::string>();
  }
  auto events = j.find("events");
  if (events == j.end()) return Status::InvalidArgument("batch: missing key 'events'");
  if (!events->is_array()) return Status::InvalidArgument("batch: key 'events' is not an array");
  if (events->empty()) return Status::InvalidArgument("batch: key 'events' is an empty array");

  uint64_t lowest = std::numeric_limits<uint64_t>::max();
  uint64_t highest = 0;
  // Seqs with their event's index, sorted to find repeats: O(n log n) whatever the seqs (a hash
  // set could be made to degrade to O(n^2) by seqs chosen to collide).
  std::vector<std::pair<uint64_t, size_t>> seqs;
  seqs.reserve(events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    const Json& e = (*events)[i];
    auto where = [i] { return "events[" + std::to_string(i) + "]: "; };  // only on an error
    if (!e.is_object()) return Status::InvalidArgument("batch: " + where() + "not an object");
    auto seq_it = e.find("seq");
    if (seq_it == e.end() || !seq_it->is_number_unsigned()) return UnsignedAt(e, "seq", where()).status();
    const uint64_t seq = seq_it->get<uint64_t>();
    if (auto dev = e.find("device"); dev != e.end()) {
      if (!dev->is_string() || dev->get_ref<const std::string&>() != batch.device)
        return Status::InvalidArgument("batch: " + where() + "device " + Brief(*dev) + " is not the batch's");
    }
    seqs.emplace_back(seq, i);
    lowest = std::min(lowest, seq);
    highest = std::max(highest, seq);
  }
  std::sort(seqs.begin(), seqs.end());
  for (size_t k = 1; k < seqs.size(); ++k) {
    if (seqs[k].first == seqs[k - 1].first)
      return Status::InvalidArgument("batch: events[" + std::to_string(seqs[k].second) + "]: seq " +
                                     std::to_string(seqs[k].first) + " repeats events[" +
                                     std::to_string(seqs[k - 1].second) + "]");
  }

  Result<uint64_t> count = UnsignedAt(j, "count", "");
  if (!count.ok()) return count.status();
  if (*count != events->size())
    return Status::InvalidArgument("batch: key 'count' is " + std::to_string(*count) + " but the batch holds " +
                                   std::to_string(events->size()) + " events");
  Result<uint64_t> first = UnsignedAt(j, "first_seq", "");
  if (!first.ok()) return first.status();
  if (*first != lowest)
    return Status::InvalidArgument("batch: key 'first_seq' is " + std::to_string(*first) + " but the lowest seq is " +
                                   std::to_string(lowest));
  Result<uint64_t> last = UnsignedAt(j, "last_seq", "");
  if (!last.ok()) return last.status();
  if (*last != highest)
    return Status::InvalidArgument("batch: key 'last_seq' is " + std::to_string(*last) + " but the highest seq is " +
                                   std::to_string(highest));
  batch.first_seq = lowest;
  batch.last_seq = highest;
  batch.events = std::move(events->get_ref<Json::array_t&>());
  return batch;
}

}  // namespace

// Where the elements of the top-level "events" array are in `text`, which has parsed as JSON
// (so only strings and nesting need tracking), as offset and length. Empty when a top-level
// key holds a backslash or "events" appears twice: nlohmann would read such keys as the
// parser does, not as written, and the spans might then not be the events it parsed.
std::vector<std::pair<size_t, size_t>> EventSpans(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> spans;
  int depth = 0;
  size_t string_start = 0;
  std::string_view last_key;  // the last string closed at depth 1
  bool in_events = false, seen_events = false;
  size_t element = std::string_view::npos;  // start of the current element of "events"
  auto close_element = [&](size_t end) {
    while (end > element && (text[end - 1] == ' ' || text[end - 1] == '\n' || text[end - 1] == '\r' ||
                             text[end - 1] == '\t'))
      --end;
    if (element != std::string_view::npos && end > element) spans.emplace_back(element, end - element);
    element = std::string_view::npos;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      // A string: its end is the next quote not escaped.
      string_start = i + 1;
      bool escaped = false;
      for (++i; i < text.size(); ++i) {
        if (escaped) {
          escaped = false;
        } else if (text[i] == '\\') {
          escaped = true;
        } else if (text[i] == '"') {
          break;
        }
      }
      if (in_events && depth == 2 && element == std::string_view::npos) element = string_start - 1;
      if (depth == 1) {
        last_key = text.substr(string_start, i - string_start);
        if (last_key.find('\\') != std::string_view::npos) return {};
      }
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (in_events && depth == 2 && element == std::string_view::npos && c != ',' && c != ']') element = i;
    switch (c) {
      case '{':
      case '[':
        if (depth == 1 && c == '[' && last_key == "events") {
          if (seen_events) return {};
          in_events = seen_events = true;
        }
        ++depth;
        break;
      case '}':
      case ']':
        if (in_events && depth == 2) {
          close_element(i);
          in_events = false;
        }
        --depth;
        break;
      case ',':
        if (in_events && depth == 2) close_element(i);
        break;
      default:
        break;
    }
  }
  return spans;
}

Result<DecodedBatch> DecodeBatch(std::string_view message, size_t max_raw_bytes) {
  try {
    if (message.empty()) return Status::InvalidArgument("batch: empty message");
    DecodedBatch batch;
    const uint8_t encoding = static_cast<uint8_t>(message[0]);
    std::string decompressed;
    std::string_view text;
    if (encoding == kBatchEncodingJson) {
      text = message.substr(1);
      if (text.size() > max_raw_bytes)
        return Status::InvalidArgument("batch: " + std::to_string(text.size()) + " bytes of JSON, over the limit of " +
                                       std::to_string(max_raw_bytes));
    } else if (encoding == kBatchEncodingZstd) {
      Result<std::string> r = Decompress(message.substr(1), 1, max_raw_bytes);
      if (!r.ok()) return r.status();
      decompressed = std::move(r).value();
      text = decompressed;
      batch.compressed = true;
    } else {
      return Status::InvalidArgument("batch: unknown encoding byte " + Hex2(encoding));
    }
    batch.raw_bytes = text.size();

    Json j;
    try {
      j = Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& e) {
      // e.byte counts the bytes read, the offending one included.
      const size_t offset = e.byte > 0 ? e.byte - 1 : 0;
      return Status::InvalidArgument("batch: invalid JSON at byte offset " + std::to_string(offset) +
                                     " of the JSON text: " + Clip(e.what(), 240));
    }
    Result<DecodedBatch> valid = Validate(j, std::move(batch));
    if (!valid.ok()) return valid;
    std::vector<std::pair<size_t, size_t>> spans = EventSpans(text);
    if (spans.size() == valid->events.size()) {
      valid->spans = std::move(spans);
      valid->text = decompressed.empty() ? std::string(text) : std::move(decompressed);
    }
    return valid;
  } catch (const Json::exception& e) {
    return Status::InvalidArgument("batch: " + Clip(e.what(), 240));
  } catch (const std::exception& e) {
    return Status::Internal("batch: " + Clip(e.what(), 240));
  }
}

}  // namespace vigil
