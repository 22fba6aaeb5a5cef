#include "agent/core/batch.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/core/event.h"

// The largest single allocation through operator new since the last reset: tells that the
// decoder refuses a decompression bomb without allocating its content.
namespace {
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

// GCC sees free() on memory from operator new; here operator new is malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(size_t n) {
  size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace vigil {
namespace {

constexpr size_t kMiB = 1024 * 1024;
constexpr std::string_view kDevice = "rtr-0042";

bool Contains(const Status& st, std::string_view what) { return st.message().find(what) != std::string_view::npos; }

// Process exec events as the agent writes them, 300-600 bytes of JSON, with pids, paths,
// command lines and users that vary; one in four carries a SHA-256 (which does not compress).
class EventGenerator {
 public:
  explicit EventGenerator(uint32_t seed) : rng_(seed) {}

  std::string Next(uint64_t seq) {
    for (;;) {  // drawn again, rarely, when out of range
      std::string json = Draw(seq);
      if (json.size() >= 300 && json.size() <= 600) return json;
    }
  }

  // Events that hardly compress (random base64), of about `size` bytes.
  std::string Random(uint64_t seq, size_t size) {
    std::string b;
    for (size_t i = 0; i < size; ++i)
      b.push_back("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[Pick(64)]);
    return R"({"v":1,"device":"rtr-0042","seq":)" + std::to_string(seq) + R"(,"type":"blob","data":")" + b + "\"}";
  }

  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

 private:
  std::string Draw(uint64_t seq) {
    static const std::vector<std::string> kImages = {
        "/usr/bin/curl",       "/bin/busybox", "/usr/sbin/dropbear",
        "/usr/bin/python3.11", "/sbin/udhcpc", "/usr/sbin/dnsmasq",
        "/usr/bin/wget",       "/bin/sh",      "/usr/lib/systemd/systemd-networkd",
        "/usr/bin/opkg"};
    static const std::vector<std::string> kUsers = {"root", "nobody", "dnsmasq", "admin", "www-data"};
    static const std::vector<std::string> kDirs = {"/", "/tmp", "/root", "/var/run", "/etc/config", "/home/admin"};
    Event e;
    e.device = std::string(kDevice);
    e.seq = seq;
    e.ts_ms = 1763900000000 + static_cast<int64_t>(seq) * 137 + Pick(100);
    e.type = "process";
    e.action = Pick(5) == 0 ? "exit" : "exec";
    e.priority = Pick(10) == 0 ? Priority::kHigh : Priority::kMedium;
    const std::string& image = kImages[Pick(kImages.size())];
    const std::string& parent = kImages[Pick(kImages.size())];
    std::string cmdline = image;
    const size_t args = Pick(6);
    for (size_t i = 0; i < args; ++i) cmdline += " --opt" + std::to_string(Pick(50)) + "=" + Word(3 + Pick(16));
    e.data = {{"ProcessId", 1000 + Pick(60000)},
              {"ParentProcessId", 1 + Pick(5000)},
              {"Image", image},
              {"CommandLine", cmdline},
              {"ParentImage", parent},
              {"ParentCommandLine", parent + " " + Word(4 + Pick(24))},
              {"User", kUsers[Pick(kUsers.size())]},
              {"CurrentDirectory", kDirs[Pick(kDirs.size())]}};
    if (Pick(4) == 0) e.data["sha256"] = Hex(64);
    return EventToJsonLine(e);
  }

  std::string Word(size_t n) {
    std::string w;
    for (size_t i = 0; i < n; ++i) w.push_back(static_cast<char>('a' + Pick(26)));
    return w;
  }
  std::string Hex(size_t n) {
    std::string h;
    for (size_t i = 0; i < n; ++i) h.push_back("0123456789abcdef"[Pick(16)]);
    return h;
  }
  std::mt19937_64 rng_;
};

std::string Uncompressed(std::string_view json) { return std::string(1, '\x00') + std::string(json); }

std::string Compressed(std::string_view json) {
  std::string frame(ZSTD_compressBound(json.size()), '\0');
  const size_t n = ZSTD_compress(frame.data(), frame.size(), json.data(), json.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  frame.resize(n);
  return std::string(1, '\x01') + frame;
}

// A batch of `events` (raw JSON objects) with the trailing keys computed, unless given.
std::string BatchJson(const std::vector<std::string>& events, std::string trailer = "") {
  std::string j = R"({"v":1,"device":"rtr-0042","events":[)";
  for (size_t i = 0; i < events.size(); ++i) j += (i ? "," : "") + events[i];
  j += "]";
  if (trailer.empty()) {
    std::vector<uint64_t> seqs;
    for (const std::string& e : events) seqs.push_back(Json::parse(e)["seq"].get<uint64_t>());
    trailer = R"(,"first_seq":)" + std::to_string(*std::min_element(seqs.begin(), seqs.end())) + R"(,"last_seq":)" +
              std::to_string(*std::max_element(seqs.begin(), seqs.end())) + R"(,"count":)" +
              std::to_string(events.size());
  }
  return j + trailer + "}";
}

Status DecodeError(std::string_view message, size_t max_raw = kMiB) {
  Result<DecodedBatch> r = DecodeBatch(message, max_raw);
  EXPECT_FALSE(r.ok()) << "accepted: " << message.substr(0, 200);
  return r.status();
}

// Feeds events to `enc` as the uplink does: Begin, Add until kFull, Finish, again. Returns the
// messages; `too_large` gets the seqs refused as kTooLarge.
std::vector<std::string> EncodeAll(BatchEncoder& enc, const std::vector<std::string>& events,
                                   const std::vector<uint64_t>& seqs, std::vector<uint64_t>* too_large = nullptr) {
  std::vector<std::string> messages;
  size_t i = 0;
  while (i < events.size()) {
    enc.Begin(kDevice);
    for (; i < events.size(); ++i) {
      const BatchEncoder::AddResult r = enc.Add(events[i], seqs[i]);
      if (r == BatchEncoder::AddResult::kFull) break;
      if (r == BatchEncoder::AddResult::kTooLarge && too_large) too_large->push_back(seqs[i]);
    }
    if (enc.count() > 0) messages.emplace_back(enc.Finish());
  }
  return messages;
}

TEST(Batch, UncompressedMessageIsTheEncodingByteAndTheJson) {
  BatchEncoder enc({.max_message_bytes = 4096, .compress = false});
  enc.Begin(kDevice);
  ASSERT_EQ(enc.Add(R"({"seq":7,"type":"alert"})", 7), BatchEncoder::AddResult::kAdded);
  ASSERT_EQ(enc.Add(R"({"seq":5,"type":"heartbeat"})", 5), BatchEncoder::AddResult::kAdded);
  const std::string_view msg = enc.Finish();
  // The worked example of batch_format.md.
  EXPECT_EQ(msg, Uncompressed(R"({"v":1,"device":"rtr-0042","events":[{"seq":7,"type":"alert"},)"
                              R"({"seq":5,"type":"heartbeat"}],"first_seq":5,"last_seq":7,"count":2})"));
  EXPECT_EQ(enc.count(), 2u);
  EXPECT_EQ(enc.raw_bytes(), msg.size() - 1);
}

// The frame of batch_format.md: the encoding byte, a zstd frame header without content size or
// checksum and with a 128 KiB window, zstd's blocks, and the closing bytes as a raw last block.
TEST(Batch, CompressedMessageIsAZstdFrameEndingWithARawBlockOfTheClosingBytes) {
  BatchEncoder enc({.max_message_bytes = 4096});
  enc.Begin(kDevice);
  ASSERT_EQ(enc.Add(R"({"seq":7,"type":"alert"})", 7), BatchEncoder::AddResult::kAdded);
  ASSERT_EQ(enc.Add(R"({"seq":5,"type":"heartbeat"})", 5), BatchEncoder::AddResult::kAdded);
  const std::string msg(enc.Finish());
  EXPECT_EQ(msg.substr(0, 7), std::string("\x01\x28\xb5\x2f\xfd\x00\x38", 7));
  const std::string tail = R"(],"first_seq":5,"last_seq":7,"count":2})";
  ASSERT_GT(msg.size(), tail.size() + 3);
  EXPECT_EQ(msg.substr(msg.size() - tail.size()), tail);
  const std::string header = msg.substr(msg.size() - tail.size() - 3, 3);
  EXPECT_EQ(header, std::string("\x39\x01\x00", 3));  // last, raw, 39 bytes
  EXPECT_EQ(ZSTD_getFrameContentSize(msg.data() + 1, msg.size() - 1), ZSTD_CONTENTSIZE_UNKNOWN);
  // Any zstd decoder reads it.
  std::string json(4096, '\0');
  const size_t n = ZSTD_decompress(json.data(), json.size(), msg.data() + 1, msg.size() - 1);
  ASSERT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  json.resize(n);
  EXPECT_EQ(json, R"({"v":1,"device":"rtr-0042","events":[{"seq":7,"type":"alert"},{"seq":5,"type":"heartbeat"}],)"
                  R"("first_seq":5,"last_seq":7,"count":2})");
}

TEST(Batch, RoundTripsCompressedAndUncompressed) {
  EventGenerator gen(1);
  std::vector<std::string> events;
  // Seqs as a batch that mixes priorities has them: neither sorted nor contiguous.
  const std::vector<uint64_t> seqs = {120, 101, 102, 250, 99, 103, 251, 104};
  for (uint64_t s : seqs) events.push_back(gen.Next(s));
  for (bool compress : {true, false}) {
    SCOPED_TRACE(compress ? "compressed" : "uncompressed");
    BatchEncoder enc({.max_message_bytes = 64 * 1024, .compress = compress});
    enc.Begin(kDevice);
    for (size_t i = 0; i < events.size(); ++i) ASSERT_EQ(enc.Add(events[i], seqs[i]), BatchEncoder::AddResult::kAdded);
    const size_t raw = enc.raw_bytes();
    const std::string msg(enc.Finish());
    EXPECT_EQ(static_cast<uint8_t>(msg[0]), compress ? kBatchEncodingZstd : kBatchEncodingJson);
    if (compress) {
      EXPECT_LT(msg.size(), raw / 2);
    }
    Result<DecodedBatch> d = DecodeBatch(msg, kMiB);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->device, kDevice);
    EXPECT_EQ(d->first_seq, 99u);
    EXPECT_EQ(d->last_seq, 251u);
    EXPECT_EQ(d->compressed, compress);
    EXPECT_EQ(d->raw_bytes, raw);
    ASSERT_EQ(d->events.size(), events.size());
    for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(d->events[i], Json::parse(events[i])) << i;
  }
}

TEST(Batch, NeverExceedsMaxMessageSizeAndPacksTypicalEventsToNinetyPercent) {
  for (size_t max : {size_t{4096}, size_t{64 * 1024}, size_t{256 * 1024}}) {
    EventGenerator gen(static_cast<uint32_t>(max));
    BatchEncoder enc({.max_message_bytes = max});
    uint64_t seq = 1;
    std::string pending;  // the event a full message refused: it starts the next one
    size_t total_raw = 0;
    for (int m = 0; m < 3; ++m) {
      enc.Begin(kDevice);
      const uint64_t first = seq;
      for (;;) {
        if (pending.empty()) {
          pending = gen.Next(seq);
          ASSERT_GE(pending.size(), 300u);
          ASSERT_LE(pending.size(), 600u);
        }
        const BatchEncoder::AddResult r = enc.Add(pending, seq);
        if (r == BatchEncoder::AddResult::kFull) break;
        ASSERT_EQ(r, BatchEncoder::AddResult::kAdded);
        pending.clear();
        ++seq;
      }
      const size_t raw = enc.raw_bytes();
      total_raw += raw;
      const std::string_view msg = enc.Finish();
      std::printf("max %zu, message %d: %zu bytes (%.1f %%), %zu events, %zu bytes of JSON\n", max, m, msg.size(),
                  100.0 * static_cast<double>(msg.size()) / static_cast<double>(max), enc.count(), raw);
      EXPECT_LE(msg.size(), max);
      EXPECT_GE(msg.size(), max * 9 / 10);
      Result<DecodedBatch> d = DecodeBatch(msg, kBatchMaxRawBytes);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      EXPECT_EQ(d->first_seq, first);
      EXPECT_EQ(d->last_seq, seq - 1);
      EXPECT_EQ(d->events.size(), seq - first);
      EXPECT_EQ(d->raw_bytes, raw);
    }
    EXPECT_GT(total_raw, max * 3 * 2);  // it compressed: more than twice the messages' bytes
  }
}

// Each flush that makes the size exact costs some 30 bytes (a block of its own). The flushes near
// the limit are about the same number whatever the limit, so they weigh on small messages only.
// Measured: 4 KiB +13 % over the same JSON compressed in one go, 64 KiB +1.5 %, 256 KiB +0.1 %.
TEST(Batch, StreamingCostsLittleAgainstCompressingInOneGo) {
  EventGenerator gen(11);
  struct Case {
    size_t max;
    double worst;  // the most the message may be above its JSON compressed in one go
  };
  for (const Case c : {Case{4096, 0.16}, Case{64 * 1024, 0.03}, Case{256 * 1024, 0.01}}) {
    const size_t max = c.max;
    BatchEncoder enc({.max_message_bytes = max});
    enc.Begin(kDevice);
    for (uint64_t seq = 1; enc.Add(gen.Next(seq), seq) == BatchEncoder::AddResult::kAdded; ++seq) {
    }
    const std::string_view msg = enc.Finish();
    Result<DecodedBatch> d = DecodeBatch(msg, kBatchMaxRawBytes);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    std::string json = R"({"v":1,"device":"rtr-0042","events":[)";
    for (size_t i = 0; i < d->events.size(); ++i) json += (i ? "," : "") + d->events[i].dump();
    json += R"(],"first_seq":)" + std::to_string(d->first_seq) + R"(,"last_seq":)" + std::to_string(d->last_seq) +
            R"(,"count":)" + std::to_string(d->events.size()) + "}";
    ASSERT_EQ(json.size(), d->raw_bytes);
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, kBatchEncoderWindowLog);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_hashLog, kBatchEncoderWindowLog - 1);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_chainLog, kBatchEncoderWindowLog - 1);
    // Streamed too (the size unknown), so that zstd chooses the same parameters.
    std::string one_go(ZSTD_compressBound(json.size()), '\0');
    ZSTD_inBuffer in{json.data(), json.size(), 0};
    ZSTD_outBuffer out{one_go.data(), one_go.size(), 0};
    ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_continue)));
    ZSTD_inBuffer none{nullptr, 0, 0};
    ASSERT_EQ(ZSTD_compressStream2(cctx, &out, &none, ZSTD_e_end), 0u);
    ZSTD_freeCCtx(cctx);
    const size_t n = out.pos + 1;  // and the encoding byte
    std::printf("max %zu: message %zu bytes, the same JSON in one go %zu (+%.2f %%)\n", max, msg.size(), n,
                100.0 * (static_cast<double>(msg.size()) / static_cast<double>(n + 1) - 1.0));
    EXPECT_LE(static_cast<double>(msg.size()), static_cast<double>(n) * (1.0 + c.worst));
  }
}

TEST(Batch, UncompressedNeverExceedsAndLeavesLessThanOneEvent) {
  for (size_t max : {size_t{4096}, size_t{64 * 1024}, size_t{256 * 1024}}) {
    EventGenerator gen(7);
    BatchEncoder enc({.max_message_bytes = max, .compress = false});
    enc.Begin(kDevice);
    uint64_t seq = 1;
    std::string event;
    for (;; ++seq) {
      event = gen.Next(seq);
      if (enc.Add(event, seq) == BatchEncoder::AddResult::kFull) break;
    }
    const std::string_view msg = enc.Finish();
    EXPECT_LE(msg.size(), max);
    // Room for the refused event (its comma, and a closing one digit longer) was not there.
    EXPECT_GT(msg.size() + event.size() + 1 + 3, max);
    Result<DecodedBatch> d = DecodeBatch(msg, kBatchMaxRawBytes);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->events.size(), seq - 1);
  }
}

// Events that do not compress, of every size from tiny to larger than the message, and limits
// of odd sizes around the zstd block size: no message is ever over its limit, each decodes, and
// every event is in exactly one message unless it was refused as too large.
TEST(Batch, NeverExceedsMaxMessageSizeWithIncompressibleAndOddSizedEvents) {
  for (bool compress : {true, false}) {
    for (size_t max : {size_t{64}, size_t{200}, size_t{777}, size_t{1500}, size_t{4096}, size_t{10007},
                       size_t{131072 + 5}, size_t{262144}}) {
      SCOPED_TRACE("max " + std::to_string(max) + (compress ? " compressed" : " uncompressed"));
      EventGenerator gen(static_cast<uint32_t>(max) + (compress ? 1 : 0));
      std::vector<std::string> events;
      std::vector<uint64_t> seqs;
      size_t raw_total = 0;
      for (uint64_t seq = 1; raw_total < 3 * max + 20000; ++seq) {
        const size_t kind = gen.Pick(10);
        size_t size = kind < 6 ? 10 + gen.Pick(400) : kind < 9 ? 10 + gen.Pick(4000) : 10 + gen.Pick(max + 1000);
        seqs.push_back(seq * 3);  // not contiguous
        events.push_back(kind == 0 ? gen.Next(seqs.back()) : gen.Random(seqs.back(), size));
        raw_total += events.back().size();
      }
      BatchEncoder enc({.max_message_bytes = max, .compress = compress});
      std::vector<uint64_t> too_large;
      const std::vector<std::string> messages = EncodeAll(enc, events, seqs, &too_large);
      std::set<uint64_t> seen(too_large.begin(), too_large.end());
      for (const std::string& msg : messages) {
        ASSERT_LE(msg.size(), max);
        Result<DecodedBatch> d = DecodeBatch(msg, kBatchMaxRawBytes);
        ASSERT_TRUE(d.ok()) << d.status().ToString();
        for (const Json& e : d->events) EXPECT_TRUE(seen.insert(e["seq"].get<uint64_t>()).second);
      }
      EXPECT_EQ(seen.size(), events.size());
      if (max >= 4096) {
        EXPECT_LT(too_large.size(), events.size() / 4);
      } else {
        EXPECT_FALSE(too_large.empty());
      }
    }
  }
}

TEST(Batch, TooLargeEventIsRefusedAndTheMessageGoesOn) {
  EventGenerator gen(3);
  for (bool compress : {true, false}) {
    SCOPED_TRACE(compress ? "compressed" : "uncompressed");
    BatchEncoder enc({.max_message_bytes = 2000, .compress = compress});
    enc.Begin(kDevice);
    EXPECT_EQ(enc.Add(gen.Random(1, 5000), 1), BatchEncoder::AddResult::kTooLarge);  // in an empty message
    EXPECT_EQ(enc.count(), 0u);
    EXPECT_EQ(enc.Add(R"({"seq":2})", 2), BatchEncoder::AddResult::kAdded);
    if (!compress) {  // known exactly without compressing, also in a message that holds events
      EXPECT_EQ(enc.Add(gen.Random(3, 5000), 3), BatchEncoder::AddResult::kTooLarge);
    }
    EXPECT_EQ(enc.Add(R"({"seq":4})", 4), BatchEncoder::AddResult::kAdded);
    Result<DecodedBatch> d = DecodeBatch(enc.Finish(), kMiB);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_EQ(d->events.size(), 2u);
    EXPECT_EQ(d->first_seq, 2u);
    EXPECT_EQ(d->last_seq, 4u);
  }
}

TEST(Batch, CompressibleEventLargerThanTheLimitFitsCompressed) {
  const std::string big = R"({"seq":1,"data":")" + std::string(20000, 'a') + "\"}";
  BatchEncoder enc({.max_message_bytes = 1000});
  enc.Begin(kDevice);
  ASSERT_EQ(enc.Add(big, 1), BatchEncoder::AddResult::kAdded);
  const std::string_view msg = enc.Finish();
  EXPECT_LE(msg.size(), 1000u);
  Result<DecodedBatch> d = DecodeBatch(msg, kMiB);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->events[0], Json::parse(big));
}

TEST(Batch, IncompressibleEventTooLargeForAnyMessageIsFullThenTooLarge) {
  EventGenerator gen(4);
  BatchEncoder enc({.max_message_bytes = 3000});
  enc.Begin(kDevice);
  ASSERT_EQ(enc.Add(R"({"seq":1})", 1), BatchEncoder::AddResult::kAdded);
  const std::string huge = gen.Random(2, 6000);
  EXPECT_EQ(enc.Add(huge, 2), BatchEncoder::AddResult::kFull);            // compressed size unknown until tried
  EXPECT_EQ(enc.Add(R"({"seq":3})", 3), BatchEncoder::AddResult::kFull);  // full stays full
  Result<DecodedBatch> d = DecodeBatch(enc.Finish(), kMiB);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->events.size(), 1u);
  enc.Begin(kDevice);
  EXPECT_EQ(enc.Add(huge, 2), BatchEncoder::AddResult::kTooLarge);
  EXPECT_EQ(enc.Add(R"({"seq":3})", 3), BatchEncoder::AddResult::kAdded);
}

TEST(Batch, FullMessageTakesNothingMoreAndHoldsWhatWasAdded) {
  EventGenerator gen(5);
  for (bool compress : {true, false}) {
    SCOPED_TRACE(compress ? "compressed" : "uncompressed");
    BatchEncoder enc({.max_message_bytes = 4096, .compress = compress});
    enc.Begin(kDevice);
    uint64_t seq = 1;
    while (enc.Add(gen.Next(seq), seq) == BatchEncoder::AddResult::kAdded) ++seq;
    const size_t added = enc.count();
    EXPECT_EQ(added, seq - 1);
    EXPECT_EQ(enc.Add(R"({"seq":99999})", 99999), BatchEncoder::AddResult::kFull);  // even a tiny one
    EXPECT_EQ(enc.count(), added);
    const std::string msg(enc.Finish());
    EXPECT_EQ(enc.Finish(), msg);                                                   // again: the same bytes
    EXPECT_EQ(enc.Add(R"({"seq":99999})", 99999), BatchEncoder::AddResult::kFull);  // finished
    Result<DecodedBatch> d = DecodeBatch(msg, kMiB);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->events.size(), added);
    EXPECT_EQ(d->last_seq, seq - 1);
  }
}

TEST(Batch, RawBytesLimitEndsTheMessage) {
  // Very repetitive events compress so well that the JSON, not the message, is the limit.
  auto event = [](uint64_t seq) {
    return R"({"seq":)" + std::to_string(seq) + R"(,"type":"heartbeat","data":")" + std::string(900, 'x') + "\"}";
  };
  BatchEncoder enc({.max_message_bytes = 64 * 1024, .max_raw_bytes = 20000});
  enc.Begin(kDevice);
  uint64_t seq = 1;
  while (enc.Add(event(seq), seq) == BatchEncoder::AddResult::kAdded) ++seq;
  EXPECT_EQ(enc.count(), seq - 1);
  EXPECT_LE(enc.raw_bytes(), 20000u);
  EXPECT_GT(enc.raw_bytes() + event(seq).size(), 20000u);
  const std::string_view msg = enc.Finish();
  EXPECT_LT(msg.size(), 4096u);
  EXPECT_TRUE(DecodeBatch(msg, 20000).ok());
  enc.Begin(kDevice);
  EXPECT_EQ(enc.Add(R"({"seq":1,"data":")" + std::string(20000, 'x') + "\"}", 1), BatchEncoder::AddResult::kTooLarge);
}

TEST(Batch, BeginResetsTheMessage) {
  for (bool compress : {true, false}) {
    SCOPED_TRACE(compress ? "compressed" : "uncompressed");
    BatchEncoder enc({.max_message_bytes = 4096, .compress = compress});
    enc.Begin("first-device");
    EventGenerator gen(6);
    for (uint64_t s = 1; s <= 3; ++s) ASSERT_EQ(enc.Add(gen.Next(s), s), BatchEncoder::AddResult::kAdded);
    enc.Begin("second-device");
    EXPECT_EQ(enc.count(), 0u);
    EXPECT_EQ(enc.raw_bytes(), 0u);
    EXPECT_TRUE(enc.Finish().empty());  // no events, no message
    enc.Begin("second-device");
    ASSERT_EQ(enc.Add(R"({"seq":40})", 40), BatchEncoder::AddResult::kAdded);
    Result<DecodedBatch> d = DecodeBatch(enc.Finish(), kMiB);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->device, "second-device");
    ASSERT_EQ(d->events.size(), 1u);
    EXPECT_EQ(d->first_seq, 40u);
  }
}

TEST(Batch, AddBeforeBeginIsRefused) {
  BatchEncoder enc({});
  EXPECT_EQ(enc.Add(R"({"seq":1})", 1), BatchEncoder::AddResult::kFull);
  EXPECT_TRUE(enc.Finish().empty());
}

// The zstd context is made once and reused: memory does not grow with messages. Measured with
// zstd 1.5.4, windowLog 17: ZSTD_sizeof_CCtx 1,435,041 bytes at level 3 (1,697,185 with zstd's
// own tables for the level), 976,289 at level 1, 2,228,703 at level 19.
TEST(Batch, EncoderMemoryIsSmallAndDoesNotGrow) {
  BatchEncoder enc({.max_message_bytes = 256 * 1024});
  EventGenerator gen(8);
  uint64_t seq = 1;
  size_t after_first = 0;
  for (int m = 0; m < 4; ++m) {
    enc.Begin(kDevice);
    while (enc.Add(gen.Next(seq), seq) == BatchEncoder::AddResult::kAdded) ++seq;
    ASSERT_FALSE(enc.Finish().empty());
    if (m == 0) after_first = enc.memory_bytes();
  }
  const size_t cctx = enc.memory_bytes() - 256 * 1024;
  std::printf("encoder memory: %zu bytes (zstd context %zu, output buffer %d)\n", enc.memory_bytes(), cctx, 256 * 1024);
  EXPECT_EQ(enc.memory_bytes(), after_first);
  EXPECT_LT(cctx, 1536u * 1024);
  // Whatever the level: zstd's tables for level 19 alone would take 85 MB with this window.
  BatchEncoder max_level({.max_message_bytes = 4096, .level = 19});
  max_level.Begin(kDevice);
  while (max_level.Add(gen.Next(seq), seq) == BatchEncoder::AddResult::kAdded) ++seq;
  std::printf("encoder memory at level 19: %zu bytes\n", max_level.memory_bytes());
  EXPECT_LT(max_level.memory_bytes(), 2560u * 1024);
}

// The bound that keeps messages under the limit holds at every level, fast to strongest.
TEST(Batch, NeverExceedsMaxMessageSizeAtAnyLevel) {
  for (int level : {-5, 1, 3, 9, 19}) {
    for (size_t max : {size_t{1500}, size_t{4096}, size_t{65536 + 3}}) {
      SCOPED_TRACE("level " + std::to_string(level) + ", max " + std::to_string(max));
      EventGenerator gen(static_cast<uint32_t>(max) + static_cast<uint32_t>(level + 10));
      std::vector<std::string> events;
      std::vector<uint64_t> seqs;
      size_t raw_total = 0;
      for (uint64_t seq = 1; raw_total < 2 * max + 8000; ++seq) {
        seqs.push_back(seq);
        events.push_back(gen.Pick(2) == 0 ? gen.Next(seq) : gen.Random(seq, 10 + gen.Pick(1500)));
        raw_total += events.back().size();
      }
      BatchEncoder enc({.max_message_bytes = max, .level = level});
      std::vector<uint64_t> too_large;
      size_t decoded = 0;
      for (const std::string& msg : EncodeAll(enc, events, seqs, &too_large)) {
        ASSERT_LE(msg.size(), max);
        Result<DecodedBatch> d = DecodeBatch(msg, kBatchMaxRawBytes);
        ASSERT_TRUE(d.ok()) << d.status().ToString();
        decoded += d->events.size();
      }
      EXPECT_EQ(decoded + too_large.size(), events.size());
    }
  }
}

// --- Decoding: everything from the network is checked -----------------------------------

TEST(Batch, RefusesEmptyMessageAndUnknownEncoding) {
  EXPECT_TRUE(Contains(DecodeError(""), "empty message"));
  const std::string json = BatchJson({R"({"seq":1})"});
  EXPECT_TRUE(Contains(DecodeError("\x07" + json), "unknown encoding byte 0x07"));
  EXPECT_TRUE(Contains(DecodeError("\xff" + json), "unknown encoding byte 0xff"));
  EXPECT_TRUE(Contains(DecodeError(std::string("\x01", 1)), "no zstd frame"));
  EXPECT_TRUE(DecodeBatch(Uncompressed(json), kMiB).ok());
  EXPECT_TRUE(DecodeBatch(Compressed(json), kMiB).ok());
}

TEST(Batch, RefusesCompressedMessageThatIsNotAZstdFrame) {
  const std::string json = BatchJson({R"({"seq":1})"});
  const Status st = DecodeError(std::string(1, '\x01') + json);  // says compressed, is not
  EXPECT_TRUE(Contains(st, "no zstd frame at byte 1")) << st.ToString();
  // A skippable frame is a zstd frame, but not one that holds the JSON.
  const std::string skippable = std::string("\x01\x50\x2a\x4d\x18\x03\x00\x00\x00", 9) + "abc";
  EXPECT_TRUE(Contains(DecodeError(skippable), "no zstd frame")) << DecodeError(skippable).ToString();
}

TEST(Batch, RefusesTruncatedMessage) {
  EventGenerator gen(9);
  BatchEncoder enc({.max_message_bytes = 4096});
  enc.Begin(kDevice);
  for (uint64_t s = 1; s <= 4; ++s) ASSERT_EQ(enc.Add(gen.Next(s), s), BatchEncoder::AddResult::kAdded);
  const std::string msg(enc.Finish());
  ASSERT_TRUE(DecodeBatch(msg, kMiB).ok());
  for (size_t cut = 1; cut < msg.size(); ++cut) {
    Result<DecodedBatch> d = DecodeBatch(std::string_view(msg).substr(0, cut), kMiB);
    ASSERT_FALSE(d.ok()) << "cut at " << cut;
    if (cut > 20) {
      EXPECT_TRUE(Contains(d.status(), "truncated")) << cut << ": " << d.status().ToString();
    }
  }
  // Uncompressed, a cut shows as invalid JSON at the end.
  const std::string json = BatchJson({R"({"seq":1})"});
  const Status st = DecodeError(Uncompressed(json.substr(0, json.size() - 3)));
  EXPECT_TRUE(Contains(st, "invalid JSON at byte offset " + std::to_string(json.size() - 3))) << st.ToString();
}

TEST(Batch, RefusesTrailingBytesAfterTheFrame) {
  const std::string msg = Compressed(BatchJson({R"({"seq":1})"}));
  Status st = DecodeError(msg + "garbage");
  EXPECT_TRUE(Contains(st, "7 bytes after the end of the zstd frame, from byte " + std::to_string(msg.size())))
      << st.ToString();
  // A second frame is trailing bytes too: one message, one frame.
  st = DecodeError(msg + msg.substr(1));
  EXPECT_TRUE(Contains(st, "after the end of the zstd frame")) << st.ToString();
  // Uncompressed, trailing bytes are invalid JSON.
  const std::string json = BatchJson({R"({"seq":1})"});
  st = DecodeError(Uncompressed(json + "x"));
  EXPECT_TRUE(Contains(st, "invalid JSON at byte offset " + std::to_string(json.size()))) << st.ToString();
}

TEST(Batch, RefusesCorruptFrameData) {
  std::string json = BatchJson({R"({"seq":1,"data":")" + std::string(3000, 'z') + "\"}"});
  std::string msg = Compressed(json);
  msg[msg.size() / 2] ^= 0x5a;
  msg[msg.size() / 2 + 1] ^= 0x5a;
  EXPECT_FALSE(DecodeBatch(msg, kMiB).ok());
  // A block header that names a type zstd does not have: the data fails to decompress.
  std::string bad = Compressed(json);
  // Frame header: magic (4), descriptor (1) with content size (1 << (descriptor >> 6) bytes, or
  // 1 with the single-segment flag), window byte unless single segment.
  const uint8_t fhd = static_cast<uint8_t>(bad[1 + 4]);
  const size_t fcs_field = (fhd >> 6) == 0 ? ((fhd & 0x20) ? 1 : 0) : size_t{1} << (fhd >> 6);
  const size_t block_at = 1 + 4 + 1 + ((fhd & 0x20) ? 0 : 1) + fcs_field;
  bad[block_at] = static_cast<char>(static_cast<uint8_t>(bad[block_at]) | 0x06);  // block type 3: reserved
  const Status st = DecodeError(bad);
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_TRUE(Contains(st, "does not decompress")) << st.ToString();
}

TEST(Batch, RefusesJsonOverTheLimit) {
  const std::string json = BatchJson({R"({"seq":1,"data":")" + std::string(5000, 'q') + "\"}"});
  Status st = DecodeError(Uncompressed(json), 4000);
  EXPECT_TRUE(Contains(st, std::to_string(json.size()) + " bytes of JSON, over the limit of 4000")) << st.ToString();
  // ZSTD_compress writes the content size in the frame: refused before decompressing.
  st = DecodeError(Compressed(json), 4000);
  EXPECT_TRUE(Contains(st, "declares " + std::to_string(json.size()) + " bytes")) << st.ToString();
  // The encoder does not: refused when decompression passes the limit.
  BatchEncoder enc({});
  enc.Begin(kDevice);
  ASSERT_EQ(enc.Add(R"({"seq":1,"data":")" + std::string(5000, 'q') + "\"}", 1), BatchEncoder::AddResult::kAdded);
  st = DecodeError(enc.Finish(), 4000);
  EXPECT_TRUE(Contains(st, "more than the limit of 4000 bytes")) << st.ToString();
  EXPECT_TRUE(DecodeBatch(enc.Finish(), 6000).ok());
}

// 100 MB of zeros, compressed as a stream (no content size in the frame): refused once the
// output passes the bound, having allocated no more than about the bound.
TEST(Batch, DecompressionBombIsRefusedWithoutAllocatingIt) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_NE(cctx, nullptr);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 17);
  const std::string zeros(kMiB, '\0');
  std::string bomb(1, '\x01');
  std::string out(ZSTD_CStreamOutSize(), '\0');
  for (int i = 0; i < 100; ++i) {
    ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
    const ZSTD_EndDirective mode = i == 99 ? ZSTD_e_end : ZSTD_e_continue;
    size_t left = 0;
    do {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      left = ZSTD_compressStream2(cctx, &o, &in, mode);
      ASSERT_FALSE(ZSTD_isError(left));
      bomb.append(out.data(), o.pos);
    } while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
  }
  ZSTD_freeCCtx(cctx);
  ASSERT_LT(bomb.size(), 100 * 1024u);  // it is a bomb
  ASSERT_EQ(ZSTD_getFrameContentSize(bomb.data() + 1, bomb.size() - 1), ZSTD_CONTENTSIZE_UNKNOWN);

  g_largest_allocation = 0;
  Result<DecodedBatch> d = DecodeBatch(bomb, kMiB);
  const size_t largest = g_largest_allocation;
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(Contains(d.status(), "more than the limit of 1048576 bytes")) << d.status().ToString();
  EXPECT_LE(largest, kMiB + 64);  // the bound (and a terminating zero), not 100 MB
}

TEST(Batch, RefusesFrameThatNeedsAWindowOverTheLimit) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_NE(cctx, nullptr);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, kBatchMaxWindowLog + 4);
  const std::string json = BatchJson({R"({"seq":1})"});
  std::string frame(ZSTD_compressBound(json.size()) + 64, '\0');
  ZSTD_inBuffer in{json.data(), json.size(), 0};
  ZSTD_outBuffer out{frame.data(), frame.size(), 0};
  // Streamed, so that zstd does not know the size and keeps the window it was given.
  ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_continue)));
  ZSTD_inBuffer none{nullptr, 0, 0};
  ASSERT_EQ(ZSTD_compressStream2(cctx, &out, &none, ZSTD_e_end), 0u);
  ZSTD_freeCCtx(cctx);
  frame.resize(out.pos);
  const Status st = DecodeError(std::string(1, '\x01') + frame);
  EXPECT_TRUE(Contains(st, "needs a window over 1048576 bytes")) << st.ToString();
}

TEST(Batch, RefusesInvalidJsonSayingWhere) {
  std::string json = R"({"v":1,"device":"d","events":[{"seq":1},}]})";
  Status st = DecodeError(Uncompressed(json));
  EXPECT_TRUE(Contains(st, "invalid JSON at byte offset " + std::to_string(json.find(",}") + 1))) << st.ToString();
  json = R"({"v":1,"device":"d","events":[tru]})";
  st = DecodeError(Compressed(json));
  EXPECT_TRUE(Contains(st, "invalid JSON at byte offset " + std::to_string(json.find("]")))) << st.ToString();
  st = DecodeError(Uncompressed(""));
  EXPECT_TRUE(Contains(st, "invalid JSON at byte offset 0")) << st.ToString();
  json = "{\"v\":1,\"device\":\"\xff\"}";  // not UTF-8
  st = DecodeError(Uncompressed(json));
  EXPECT_TRUE(Contains(st, "invalid JSON at byte offset " + std::to_string(json.find('\xff')))) << st.ToString();
  st = DecodeError(Uncompressed(R"([1,2,3])"));
  EXPECT_TRUE(Contains(st, "not an object")) << st.ToString();
}

TEST(Batch, RefusesWrongVersionAndDevice) {
  const std::string rest = R"("events":[{"seq":1}],"first_seq":1,"last_seq":1,"count":1})";
  Status st = DecodeError(Uncompressed(R"({"v":2,"device":"d",)" + rest));
  EXPECT_TRUE(Contains(st, "key 'v' is 2")) << st.ToString();
  st = DecodeError(Uncompressed(R"({"v":"1","device":"d",)" + rest));
  EXPECT_TRUE(Contains(st, "key 'v' is \"1\"")) << st.ToString();
  st = DecodeError(Uncompressed(R"({"device":"d",)" + rest));
  EXPECT_TRUE(Contains(st, "missing key 'v'")) << st.ToString();
  st = DecodeError(Uncompressed(R"({"v":1,)" + rest));
  EXPECT_TRUE(Contains(st, "missing key 'device'")) << st.ToString();
  st = DecodeError(Uncompressed(R"({"v":1,"device":"",)" + rest));
  EXPECT_TRUE(Contains(st, "'device' is not a non-empty string")) << st.ToString();
  st = DecodeError(Uncompressed(R"({"v":1,"device":7,)" + rest));
  EXPECT_TRUE(Contains(st, "'device' is not a non-empty string")) << st.ToString();
}

TEST(Batch, RefusesEventsThatAreNotANonEmptyArrayOfObjects) {
  const std::string head = R"({"v":1,"device":"rtr-0042",)";
  const std::string tail = R"(,"first_seq":1,"last_seq":1,"count":1})";
  Status st = DecodeError(Uncompressed(head + R"("count":0})"));
  EXPECT_TRUE(Contains(st, "missing key 'events'")) << st.ToString();
  st = DecodeError(Uncompressed(head + R"("events":{"seq":1})" + tail));
  EXPECT_TRUE(Contains(st, "'events' is not an array")) << st.ToString();
  st = DecodeError(Uncompressed(head + R"("events":[])" + tail));
  EXPECT_TRUE(Contains(st, "'events' is an empty array")) << st.ToString();
  st = DecodeError(Uncompressed(BatchJson({R"({"seq":1})", "[2]"}, R"(,"first_seq":1,"last_seq":1,"count":2)")));
  EXPECT_TRUE(Contains(st, "events[1]: not an object")) << st.ToString();
}

TEST(Batch, RefusesEventWithoutUnsignedIntegerSeq) {
  const std::string trailer = R"(,"first_seq":1,"last_seq":1,"count":2)";
  for (std::string bad : {R"({"type":"x"})", R"({"seq":-1})", R"({"seq":1.5})", R"({"seq":"7"})", R"({"seq":null})",
                          R"({"seq":18446744073709551616})"}) {
    SCOPED_TRACE(bad);
    const Status st = DecodeError(Uncompressed(BatchJson({R"({"seq":1})", bad}, trailer)));
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(Contains(st, "events[1]: ")) << st.ToString();
    EXPECT_TRUE(Contains(st, "'seq'")) << st.ToString();
  }
  EXPECT_TRUE(DecodeBatch(Uncompressed(BatchJson({R"({"seq":18446744073709551615})"})), kMiB).ok());
}

TEST(Batch, RefusesEventOfAnotherDevice) {
  EXPECT_TRUE(DecodeBatch(Uncompressed(BatchJson({R"({"seq":1,"device":"rtr-0042"})"})), kMiB).ok());
  Status st = DecodeError(Uncompressed(BatchJson({R"({"seq":1})", R"({"seq":2,"device":"cam-7"})"})));
  EXPECT_TRUE(Contains(st, "events[1]: device \"cam-7\" is not the batch's")) << st.ToString();
  st = DecodeError(Uncompressed(BatchJson({R"({"seq":2,"device":42})"})));
  EXPECT_TRUE(Contains(st, "events[0]: device 42")) << st.ToString();
}

TEST(Batch, RefusesDuplicateSeq) {
  const Status st = DecodeError(Uncompressed(BatchJson({R"({"seq":5})", R"({"seq":6})", R"({"seq":5})"})));
  EXPECT_TRUE(Contains(st, "events[2]: seq 5 repeats events[0]")) << st.ToString();
}

TEST(Batch, RefusesTrailingKeysThatDoNotMatchTheEvents) {
  const std::vector<std::string> events = {R"({"seq":9})", R"({"seq":3})", R"({"seq":6})"};
  struct Case {
    std::string trailer;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {R"(,"first_seq":3,"last_seq":9,"count":2)", "key 'count' is 2 but the batch holds 3 events"},
           {R"(,"first_seq":3,"last_seq":9)", "missing key 'count'"},
           {R"(,"first_seq":3,"last_seq":9,"count":"3")", "key 'count' is not an unsigned integer"},
           {R"(,"first_seq":9,"last_seq":9,"count":3)", "key 'first_seq' is 9 but the lowest seq is 3"},
           {R"(,"last_seq":9,"count":3)", "missing key 'first_seq'"},
           {R"(,"first_seq":-3,"last_seq":9,"count":3)", "key 'first_seq' is not an unsigned integer"},
           {R"(,"first_seq":3,"last_seq":6,"count":3)", "key 'last_seq' is 6 but the highest seq is 9"},
           {R"(,"first_seq":3,"count":3)", "missing key 'last_seq'"},
           {R"(,"first_seq":3,"last_seq":9.0,"count":3)", "key 'last_seq' is not an unsigned integer"},
       }) {
    const Status st = DecodeError(Compressed(BatchJson(events, c.trailer)));
    EXPECT_TRUE(Contains(st, c.says)) << c.trailer << " -> " << st.ToString();
  }
}

TEST(Batch, KeyOrderDoesNotMatterAndUnknownKeysAreIgnored) {
  const std::string json =
      R"({"count":2,"last_seq":8,"events":[{"seq":8},{"seq":2}],"future":[1],"first_seq":2,"device":"d","v":1})";
  Result<DecodedBatch> d = DecodeBatch(Uncompressed(json), kMiB);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->device, "d");
  EXPECT_EQ(d->first_seq, 2u);
  EXPECT_EQ(d->last_seq, 8u);
  EXPECT_EQ(d->events.size(), 2u);
  EXPECT_FALSE(d->compressed);
}

TEST(Batch, EachEventsTextIsKeptAsWrittenAndParsesToTheEvent) {
  const std::string json =
      "{\"v\":1,\"device\":\"d\",\"events\": [ {\"seq\":8,\"s\":\"a,]}\\\"[\"} ,\n{\"seq\":2, \"n\":[1,{\"x\":[]}]}\t],"
      "\"first_seq\":2,\"last_seq\":8,\"count\":2}";
  for (bool compressed : {false, true}) {
    Result<DecodedBatch> d = DecodeBatch(compressed ? Compressed(json) : Uncompressed(json), kMiB);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_EQ(d->spans.size(), 2u);
    EXPECT_EQ(d->EventText(0), "{\"seq\":8,\"s\":\"a,]}\\\"[\"}");
    EXPECT_EQ(d->EventText(1), "{\"seq\":2, \"n\":[1,{\"x\":[]}]}");
    for (size_t i = 0; i < 2; ++i) EXPECT_EQ(Json::parse(d->EventText(i)), d->events[i]) << i;
    EXPECT_EQ(d->EventText(2), "");
  }
}

TEST(Batch, NoEventTextWhenTheParserAndAPlainWalkCouldDisagree) {
  // "events" twice (the parser keeps the last), or a top-level key written with an escape
  // ("\u0065vents" is "events" to the parser): the texts are not given, events[i] is the truth.
  const std::string twice =
      R"({"v":1,"device":"d","events":[{"seq":1,"a":1}],"events":[{"seq":1,"b":2}],"first_seq":1,"last_seq":1,"count":1})";
  const std::string escaped =
      R"({"v":1,"device":"d","events":[{"seq":1,"a":1}],"\u0065vents":[{"seq":1,"b":2}],"first_seq":1,"last_seq":1,"count":1})";
  for (const std::string& json : {twice, escaped}) {
    Result<DecodedBatch> d = DecodeBatch(Uncompressed(json), kMiB);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_TRUE(d->spans.empty()) << json;
    EXPECT_EQ(d->EventText(0), "");
    ASSERT_EQ(d->events.size(), 1u);
    EXPECT_TRUE(d->events[0].contains("b")) << d->events[0].dump();
  }
}

TEST(Batch, DeeplyNestedJsonDoesNotExhaustTheStack) {
  const size_t depth = 200000;
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  Result<DecodedBatch> d = DecodeBatch(Compressed(BatchJson({R"({"seq":1,"x":)" + nested + "}"})), 4 * kMiB);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->events.size(), 1u);
  EXPECT_FALSE(DecodeBatch(Uncompressed(std::string(depth, '[')), 4 * kMiB).ok());
}

}  // namespace
}  // namespace vigil
