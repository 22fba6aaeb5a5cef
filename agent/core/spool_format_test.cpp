#include "agent/core/spool_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::spool {
namespace {

struct Scanned {
  std::vector<Record> records;
  std::vector<Damage> damage;
  bool torn_tail = false;
  size_t end_of_records = 0;
};

Scanned ScanAll(std::string_view body, size_t base = 0) {
  RecordScanner scanner(body, base);
  Scanned out;
  while (auto r = scanner.Next()) out.records.push_back(*r);
  out.damage = scanner.damage();
  out.torn_tail = scanner.torn_tail();
  out.end_of_records = scanner.end_of_records();
  return out;
}

std::string ThreeRecords(std::vector<size_t>* ends = nullptr) {
  std::string body;
  AppendRecord(7, R"({"type":"process"})", &body);
  if (ends) ends->push_back(body.size());
  AppendRecord(8, "", &body);
  if (ends) ends->push_back(body.size());
  AppendRecord(9, std::string(300, 'x'), &body);
  if (ends) ends->push_back(body.size());
  return body;
}

TEST(SpoolFormat, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c("56789", Crc32c("1234")), 0xE3069283u);  // continues across pieces
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(SpoolFormat, FileHeaderRoundTripsAndRejectsOtherBytes) {
  const std::string header = EncodeFileHeader(2);
  ASSERT_EQ(header.size(), kFileHeaderBytes);
  ASSERT_TRUE(DecodeFileHeader(header).ok());
  EXPECT_EQ(*DecodeFileHeader(header), 2);

  EXPECT_EQ(DecodeFileHeader(header.substr(0, 10)).status().code(), Status::Code::kCorruption);
  std::string other = header;
  other[0] = 'X';
  EXPECT_NE(DecodeFileHeader(other).status().message().find("magic"), std::string_view::npos);
  other = header;
  other[8] = 3;
  EXPECT_NE(DecodeFileHeader(other).status().message().find("priority 3"), std::string_view::npos);
  other = header;
  other[15] = 1;
  EXPECT_NE(DecodeFileHeader(other).status().message().find("reserved byte 15"), std::string_view::npos);
}

TEST(SpoolFormat, RecordsRoundTripInOrderWithTheirOffsets) {
  const std::string body = ThreeRecords();
  Scanned s = ScanAll(body, kFileHeaderBytes);
  ASSERT_EQ(s.records.size(), 3u);
  EXPECT_EQ(s.records[0].seq, 7u);
  EXPECT_EQ(s.records[0].payload, R"({"type":"process"})");
  EXPECT_EQ(s.records[0].offset, kFileHeaderBytes);
  EXPECT_EQ(s.records[1].seq, 8u);
  EXPECT_EQ(s.records[1].payload, "");
  EXPECT_EQ(s.records[2].payload, std::string(300, 'x'));
  EXPECT_EQ(s.records[2].offset + s.records[2].size, kFileHeaderBytes + body.size());
  EXPECT_TRUE(s.damage.empty());
  EXPECT_FALSE(s.torn_tail);
  EXPECT_EQ(s.end_of_records, kFileHeaderBytes + body.size());
}

TEST(Spool, SurvivesTruncatedTail) {
  std::vector<size_t> ends;
  const std::string body = ThreeRecords(&ends);
  // Cut the last record short at every length: the first two records survive, the rest is a
  // torn tail reported from where the last record began.
  for (size_t cut = ends[1] + 1; cut < ends[2]; ++cut) {
    Scanned s = ScanAll(std::string_view(body).substr(0, cut));
    ASSERT_EQ(s.records.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(s.records[1].seq, 8u);
    ASSERT_EQ(s.damage.size(), 1u);
    EXPECT_EQ(s.damage[0].offset, ends[1]);
    EXPECT_EQ(s.damage[0].bytes, cut - ends[1]);
    EXPECT_NE(s.damage[0].reason.find("cut short"), std::string::npos) << s.damage[0].reason;
    EXPECT_TRUE(s.torn_tail);
    EXPECT_EQ(s.end_of_records, ends[1]);
  }
}

TEST(SpoolFormat, AFlippedByteLosesOnlyItsRecord) {
  std::vector<size_t> ends;
  std::string body = ThreeRecords(&ends);
  body[ends[0] + 2] ^= 0x40;  // inside the second record's marker
  Scanned s = ScanAll(body);
  ASSERT_EQ(s.records.size(), 2u);
  EXPECT_EQ(s.records[0].seq, 7u);
  EXPECT_EQ(s.records[1].seq, 9u);
  ASSERT_EQ(s.damage.size(), 1u);
  EXPECT_EQ(s.damage[0].offset, ends[0]);
  EXPECT_EQ(s.damage[0].bytes, ends[1] - ends[0]);
  EXPECT_EQ(s.damage[0].reason, "no record marker");
  EXPECT_FALSE(s.torn_tail);

  body = ThreeRecords();
  body[ends[1] + kRecordHeaderBytes + 5] ^= 0x01;  // inside the third record's payload
  s = ScanAll(body);
  ASSERT_EQ(s.records.size(), 2u);
  ASSERT_EQ(s.damage.size(), 1u);
  EXPECT_EQ(s.damage[0].reason, "checksum mismatch");
  EXPECT_TRUE(s.torn_tail);  // the damage reaches the end
}

TEST(SpoolFormat, GarbageBetweenRecordsIsSkippedAndReported) {
  std::string body;
  AppendRecord(1, "a", &body);
  const size_t garbage_at = body.size();
  body += "VSGR this is not a record VSGR";
  AppendRecord(2, "b", &body);
  Scanned s = ScanAll(body);
  ASSERT_EQ(s.records.size(), 2u);
  EXPECT_EQ(s.records[1].payload, "b");
  ASSERT_EQ(s.damage.size(), 1u);
  EXPECT_EQ(s.damage[0].offset, garbage_at);
  EXPECT_EQ(s.damage[0].bytes, 30u);
}

TEST(SpoolFormat, ALengthAboveTheLimitIsDamageNotAnAllocation) {
  std::string body;
  AppendRecord(1, "a", &body);
  body[4] = '\xff';
  body[5] = '\xff';
  body[6] = '\xff';
  body[7] = '\x7f';
  Scanned s = ScanAll(body);
  EXPECT_TRUE(s.records.empty());
  ASSERT_EQ(s.damage.size(), 1u);
  EXPECT_NE(s.damage[0].reason.find("above the limit"), std::string::npos);
  EXPECT_EQ(s.end_of_records, 0u);
}

TEST(SpoolFormat, EmptyBodyHasNoRecordsAndNoDamage) {
  Scanned s = ScanAll("");
  EXPECT_TRUE(s.records.empty());
  EXPECT_TRUE(s.damage.empty());
  EXPECT_FALSE(s.torn_tail);
}

}  // namespace
}  // namespace vigil::spool
