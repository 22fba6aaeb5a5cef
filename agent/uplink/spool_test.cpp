#include "agent/uplink/spool.h"

#include <cstring>

#include <gtest/gtest.h>

#include "agent/core/spool_format.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil {
namespace {

constexpr const char* kDir = "/state/spool";

Event MakeEvent(uint64_t seq, Priority p = Priority::kMedium, size_t pad = 0) {
  Event e;
  e.device = "dev1";
  e.seq = seq;
  e.ts_ms = 1'700'000'000'000 + static_cast<int64_t>(seq);
  e.type = "process";
  e.action = "exec";
  e.priority = p;
  e.data["exe"] = "/usr/bin/true";
  if (pad) e.data["pad"] = std::string(pad, 'x');
  return e;
}

std::unique_ptr<Spool> OpenSpool(FakeEnv& env, SpoolOptions o = {}) {
  o.dir = kDir;
  auto s = Spool::Open(env, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// Every readable record of priority p from its released position.
std::vector<uint64_t> ReadAll(Spool& spool, Priority p, SpoolPosition* end = nullptr) {
  SpoolPosition cursor = spool.released(p);
  std::vector<SpoolRecord> out;
  for (;;) {
    size_t before = out.size();
    EXPECT_TRUE(spool.Read(p, &cursor, 4096, &out).ok());
    if (out.size() == before) break;
  }
  if (end) *end = cursor;
  std::vector<uint64_t> seqs;
  for (const SpoolRecord& r : out) seqs.push_back(r.seq);
  return seqs;
}

std::vector<std::string> SegmentFiles(FakeEnv& env) {
  std::vector<std::string> out;
  auto names = env.ListDir(kDir);
  if (!names.ok()) return out;
  for (const std::string& n : *names)
    if (n.ends_with(".seg")) out.push_back(n);
  return out;
}

std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t i = from; i <= to; ++i) v.push_back(i);
  return v;
}

TEST(Spool, ReadsBackWhatWasWrittenInOrderOnceSynced) {
  FakeEnv env;
  auto spool = OpenSpool(env);
  for (uint64_t i = 1; i <= 50; ++i) ASSERT_TRUE(spool->Write(MakeEvent(i)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  EXPECT_TRUE(ReadAll(*spool, Priority::kMedium).empty()) << "written but not synced: not readable";
  ASSERT_TRUE(spool->Sync(/*force=*/true).ok());
  EXPECT_EQ(ReadAll(*spool, Priority::kMedium), Range(1, 50));
  EXPECT_TRUE(ReadAll(*spool, Priority::kHigh).empty());
  EXPECT_EQ(spool->last_seq(), 50u);
}

TEST(Spool, PayloadIsTheEventJson) {
  FakeEnv env;
  auto spool = OpenSpool(env);
  ASSERT_TRUE(spool->Write(MakeEvent(7, Priority::kHigh)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  ASSERT_TRUE(spool->Sync(true).ok());
  SpoolPosition cursor;
  std::vector<SpoolRecord> out;
  ASSERT_TRUE(spool->Read(Priority::kHigh, &cursor, 1 << 20, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, EventToJsonLine(MakeEvent(7, Priority::kHigh)));
  EXPECT_EQ(cursor, out[0].end);
}

TEST(Spool, IntervalSyncWaitsForTheInterval) {
  FakeEnv env;
  SpoolOptions o;
  o.sync_interval_ms = 100;
  auto spool = OpenSpool(env, o);
  env.manual_clock().Advance(1000);
  ASSERT_TRUE(spool->Write(MakeEvent(1)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  ASSERT_TRUE(spool->Sync().ok());
  EXPECT_EQ(ReadAll(*spool, Priority::kMedium).size(), 1u);
  ASSERT_TRUE(spool->Write(MakeEvent(2)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  ASSERT_TRUE(spool->Sync().ok());
  EXPECT_EQ(ReadAll(*spool, Priority::kMedium).size(), 1u) << "synced 0 ms ago";
  env.manual_clock().Advance(100);
  ASSERT_TRUE(spool->Sync().ok());
  EXPECT_EQ(ReadAll(*spool, Priority::kMedium).size(), 2u);
}

TEST(Spool, SyncAlwaysAndNeverMakeRecordsReadableAtFlush) {
  for (SpoolSync mode : {SpoolSync::kAlways, SpoolSync::kNever}) {
    FakeEnv env;
    SpoolOptions o;
    o.sync = mode;
    auto spool = OpenSpool(env, o);
    ASSERT_TRUE(spool->Write(MakeEvent(1)).ok());
    ASSERT_TRUE(spool->Flush().ok());
    EXPECT_EQ(ReadAll(*spool, Priority::kMedium), Range(1, 1));
    EXPECT_EQ(env.sync_calls() > 0, mode == SpoolSync::kAlways);
  }
}

TEST(Spool, ReleasedRecordsAreNotReadAgainAfterReopen) {
  FakeEnv env;
  {
    auto spool = OpenSpool(env);
    for (uint64_t i = 1; i <= 20; ++i) ASSERT_TRUE(spool->Write(MakeEvent(i)).ok());
    ASSERT_TRUE(spool->Flush().ok());
    ASSERT_TRUE(spool->Sync(true).ok());
    SpoolPosition cursor;
    std::vector<SpoolRecord> out;
    ASSERT_TRUE(spool->Read(Priority::kMedium, &cursor, 1 << 20, &out).ok());
    ASSERT_EQ(out.size(), 20u);
    spool->Release(Priority::kMedium, out[11].end, out[11].seq);  // 1..12 delivered
    ASSERT_TRUE(spool->Checkpoint().ok());
  }
  auto spool = OpenSpool(env);
  EXPECT_EQ(ReadAll(*spool, Priority::kMedium), Range(13, 20));
  EXPECT_EQ(spool->last_seq(), 20u);
}

TEST(Spool, SegmentsWhollyReleasedAreDeletedAtCheckpoint) {
  FakeEnv env;
  SpoolOptions o;
  o.segment_bytes = 16 << 10;
  auto spool = OpenSpool(env, o);
  for (uint64_t i = 1; i <= 200; ++i) ASSERT_TRUE(spool->Write(MakeEvent(i, Priority::kLow, 200)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  ASSERT_TRUE(spool->Sync(true).ok());
  const size_t segments = SegmentFiles(env).size();
  ASSERT_GT(segments, 2u) << "200 records of ~400 bytes roll 16 KB segments";
  SpoolPosition end;
  EXPECT_EQ(ReadAll(*spool, Priority::kLow, &end), Range(1, 200));
  spool->Release(Priority::kLow, end, 200);
  EXPECT_EQ(SegmentFiles(env).size(), segments) << "nothing deleted before the state is written";
  ASSERT_TRUE(spool->Checkpoint().ok());
  EXPECT_EQ(SegmentFiles(env).size(), 1u) << "the segment still open for appends stays";
  EXPECT_TRUE(env.Exists(std::string(kDir) + "/state.json"));
}

TEST(Spool, SurvivesTruncatedTail) {
  FakeEnv env;
  std::string path;
  {
    auto spool = OpenSpool(env);
    for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(spool->Write(MakeEvent(i)).ok());
    ASSERT_TRUE(spool->Flush().ok());
  }
  auto files = SegmentFiles(env);
  ASSERT_EQ(files.size(), 1u);
  path = std::string(kDir) + "/" + files[0];
  std::string content = env.Content(path);
  env.SetFile(path, content.substr(0, content.size() - 7));  // the last append cut short
  auto spool = OpenSpool(env);
  EXPECT_EQ(spool->stats().torn_tails, 1u);
  EXPECT_EQ(spool->stats().damaged_regions, 1u);
  EXPECT_EQ(ReadAll(*spool, Priority::kMedium), Range(1, 9));
  // New records go to a new segment, after the damaged one, and are read after it.
  ASSERT_TRUE(spool->Write(MakeEvent(11)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  ASSERT_TRUE(spool->Sync(true).ok());
  EXPECT_EQ(SegmentFiles(env).size(), 2u);
  std::vector<uint64_t> want = Range(1, 9);
  want.push_back(11);
  EXPECT_EQ(ReadAll(*spool, Priority::kMedium), want);
  EXPECT_EQ(spool->last_seq(), 11u);
}

TEST(Spool, DamagedRecordLosesOnlyItself) {
  FakeEnv env;
  {
    auto spool = OpenSpool(env);
    for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(spool->Write(MakeEvent(i)).ok());
  }
  const std::string path = std::string(kDir) + "/" + SegmentFiles(env)[0];
  std::string content = env.Content(path);
  // Flip a byte inside the payload of the fifth record.
  size_t pos = spool::kFileHeaderBytes;
  for (int i = 0; i < 4; ++i) {
    uint32_t len = 0;
    std::memcpy(&len, content.data() + pos + 4, 4);
    pos += spool::kRecordHeaderBytes + len;
  }
  content[pos + spool::kRecordHeaderBytes + 5] ^= 0x20;
  env.SetFile(path, content);
  auto spool = OpenSpool(env);
  EXPECT_EQ(spool->stats().damaged_regions, 1u);
  EXPECT_EQ(spool->stats().torn_tails, 0u);
  std::vector<uint64_t> want = {1, 2, 3, 4, 6, 7, 8, 9, 10};
  EXPECT_EQ(ReadAll(*spool, Priority::kMedium), want);
}

TEST(Spool, ForeignFilesAreLeftAlone) {
  FakeEnv env;
  env.SetFile(std::string(kDir) + "/notes.txt", "mine");
  auto spool = OpenSpool(env);
  EXPECT_EQ(env.Content(std::string(kDir) + "/notes.txt"), "mine");
}

TEST(Spool, PowerLossKeepsEverythingSynced) {
  FakeEnv env;
  auto before = OpenSpool(env);  // stays open: the power goes while it runs
  for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(before->Write(MakeEvent(i)).ok());
  ASSERT_TRUE(before->Flush().ok());
  ASSERT_TRUE(before->Sync(true).ok());
  for (uint64_t i = 11; i <= 15; ++i) ASSERT_TRUE(before->Write(MakeEvent(i)).ok());
  ASSERT_TRUE(before->Flush().ok());
  EXPECT_EQ(ReadAll(*before, Priority::kMedium), Range(1, 10)) << "11..15 not synced, so never sent";
  env.DropUnsynced();
  auto after = OpenSpool(env);
  EXPECT_EQ(ReadAll(*after, Priority::kMedium), Range(1, 10));
  EXPECT_EQ(after->last_seq(), 10u) << "the counter may hand out 11 again: it was never sent";
}

TEST(Spool, EvictsOldestLowPriorityFirstAndCountsIt) {
  FakeEnv env;
  SpoolOptions o;
  o.max_bytes = 256 << 10;  // segments of 32 KB
  auto spool = OpenSpool(env, o);
  uint64_t seq = 0;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(spool->Write(MakeEvent(++seq, Priority::kHigh, 500)).ok());
  const uint64_t last_high = seq;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(spool->Write(MakeEvent(++seq, Priority::kLow, 500)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  ASSERT_TRUE(spool->Sync(true).ok());
  SpoolStats st = spool->stats();
  EXPECT_LE(st.bytes, o.max_bytes);
  EXPECT_EQ(st.evicted[0], 0u);
  EXPECT_GT(st.evicted[2], 0u);
  std::vector<uint64_t> low = ReadAll(*spool, Priority::kLow);
  EXPECT_EQ(ReadAll(*spool, Priority::kHigh), Range(1, last_high)) << "high events kept";
  ASSERT_FALSE(low.empty());
  EXPECT_EQ(low.back(), seq) << "the newest low events kept";
  EXPECT_EQ(low.size() + st.evicted[2], 1000u) << "every low event is either kept or counted";
  EXPECT_EQ(low, Range(low.front(), seq)) << "what is kept is contiguous: the oldest went first";
}

TEST(Spool, EvictionCountsOnlyUnreleasedRecords) {
  FakeEnv env;
  SpoolOptions o;
  o.max_bytes = 256 << 10;
  auto spool = OpenSpool(env, o);
  uint64_t seq = 0;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(spool->Write(MakeEvent(++seq, Priority::kLow, 500)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  ASSERT_TRUE(spool->Sync(true).ok());
  SpoolPosition cursor;
  std::vector<SpoolRecord> out;
  ASSERT_TRUE(spool->Read(Priority::kLow, &cursor, 1 << 20, &out).ok());
  ASSERT_EQ(out.size(), 30u);
  spool->Release(Priority::kLow, out[9].end, out[9].seq);  // 10 delivered, not yet checkpointed
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(spool->Write(MakeEvent(++seq, Priority::kLow, 500)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  ASSERT_TRUE(spool->Sync(true).ok());
  std::vector<uint64_t> low = ReadAll(*spool, Priority::kLow);
  EXPECT_EQ(low.size() + spool->stats().evicted[2], 1030u - 10u);
}

TEST(Spool, LastSeqCoversReleasedRecordsAfterAPowerLoss) {
  FakeEnv env;
  SpoolOptions o;
  o.max_bytes = 128 << 10;
  uint64_t seq = 0;
  auto before = OpenSpool(env, o);  // stays open: the power goes while it runs
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(before->Write(MakeEvent(++seq, Priority::kHigh, 300)).ok());
  ASSERT_TRUE(before->Flush().ok());
  ASSERT_TRUE(before->Sync(true).ok());
  SpoolPosition end;
  ReadAll(*before, Priority::kHigh, &end);
  before->Release(Priority::kHigh, end, seq);
  ASSERT_TRUE(before->Checkpoint().ok());
  env.DropUnsynced();
  auto after = OpenSpool(env, o);
  EXPECT_EQ(after->last_seq(), seq) << "released records are gone, their numbers are not forgotten";
  EXPECT_TRUE(ReadAll(*after, Priority::kHigh).empty());
}

TEST(Spool, EventOverTheRecordLimitIsRefusedAndCounted) {
  FakeEnv env;
  SpoolOptions o;
  o.max_bytes = 64 << 10;
  auto spool = OpenSpool(env, o);
  Status st = spool->Write(MakeEvent(1, Priority::kLow, 100 << 10));
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("seq 1"), std::string_view::npos);
  EXPECT_EQ(spool->stats().too_large, 1u);
  EXPECT_TRUE(spool->Write(MakeEvent(2)).ok());
}

TEST(Spool, ReadStopsAtMaxBytesAndResumesAtTheCursor) {
  FakeEnv env;
  auto spool = OpenSpool(env);
  for (uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(spool->Write(MakeEvent(i, Priority::kLow, 100)).ok());
  ASSERT_TRUE(spool->Flush().ok());
  ASSERT_TRUE(spool->Sync(true).ok());
  SpoolPosition cursor;
  std::vector<SpoolRecord> a, b;
  ASSERT_TRUE(spool->Read(Priority::kLow, &cursor, 2000, &a).ok());
  ASSERT_TRUE(spool->Read(Priority::kLow, &cursor, 1 << 20, &b).ok());
  ASSERT_FALSE(a.empty());
  EXPECT_LT(a.size(), 20u);
  EXPECT_EQ(a.size() + b.size(), 100u);
  EXPECT_EQ(b.front().seq, a.back().seq + 1);
  EXPECT_FALSE(spool->HasReadable(Priority::kLow, cursor));
  EXPECT_TRUE(spool->HasReadable(Priority::kLow, SpoolPosition{}));
}

TEST(Spool, StateFileNotOursMeansEverythingIsSentAgain) {
  FakeEnv env;
  {
    auto spool = OpenSpool(env);
    for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(spool->Write(MakeEvent(i)).ok());
  }
  env.SetFile(std::string(kDir) + "/state.json", "{not json");
  auto spool = OpenSpool(env);
  EXPECT_EQ(ReadAll(*spool, Priority::kMedium), Range(1, 5));
}

}  // namespace
}  // namespace vigil
