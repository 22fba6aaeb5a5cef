#include "hub/ingest/inbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace vigil::hub {
namespace {

namespace fs = std::filesystem;

class InboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-inbox-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Inbox> Open(Inbox::Options o = {}) {
    auto inbox = Inbox::Open(dir_ + "/inbox", o);
    EXPECT_TRUE(inbox.ok()) << inbox.status().ToString();
    return inbox.ok() ? std::move(*inbox) : nullptr;
  }
  std::vector<fs::path> Segments() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_ + "/inbox"))
      if (e.path().extension() == ".log") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
};

TEST_F(InboxTest, MessagesNotReleasedComeBackInOrderAfterARestart) {
  {
    auto inbox = Open();
    ASSERT_TRUE(inbox);
    EXPECT_TRUE(inbox->TakeUnreleased().empty());
    EXPECT_EQ(*inbox->Append("vigil/v1/a/events", "one"), 1u);
    EXPECT_EQ(*inbox->Append("vigil/v1/b/status", std::string("t\0o", 3)), 2u);
    EXPECT_EQ(*inbox->Append("vigil/v1/a/events", ""), 3u);
  }
  auto inbox = Open();
  ASSERT_TRUE(inbox);
  auto back = inbox->TakeUnreleased();
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].number, 1u);
  EXPECT_EQ(back[0].topic, "vigil/v1/a/events");
  EXPECT_EQ(back[0].payload, "one");
  EXPECT_EQ(back[1].payload, std::string("t\0o", 3));
  EXPECT_EQ(back[2].payload, "");
  EXPECT_TRUE(inbox->TakeUnreleased().empty());
  EXPECT_EQ(*inbox->Append("t", "four"), 4u);  // numbers go on
}

TEST_F(InboxTest, ReleasedMessagesDoNotComeBack) {
  {
    auto inbox = Open();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(inbox->Append("t", std::to_string(i)).ok());
    ASSERT_TRUE(inbox->Release(3).ok());
  }
  auto inbox = Open();
  auto back = inbox->TakeUnreleased();
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].number, 4u);
  EXPECT_EQ(back[1].number, 5u);
}

TEST_F(InboxTest, ATornTailLosesOnlyTheTornMessage) {
  {
    auto inbox = Open();
    ASSERT_TRUE(inbox->Append("t", "first").ok());
    ASSERT_TRUE(inbox->Append("t", "second message").ok());
  }
  auto segs = Segments();
  ASSERT_EQ(segs.size(), 1u);
  fs::resize_file(segs[0], fs::file_size(segs[0]) - 3);
  auto inbox = Open();
  auto back = inbox->TakeUnreleased();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].payload, "first");
  EXPECT_EQ(inbox->damaged_records(), 1u);
}

TEST_F(InboxTest, SegmentsWhollyReleasedAreDeleted) {
  Inbox::Options o;
  o.segment_bytes = 256;
  auto inbox = Open(o);
  uint64_t last = 0;
  for (int i = 0; i < 20; ++i) last = *inbox->Append("t", std::string(60, 'x'));
  EXPECT_GT(Segments().size(), 3u);
  ASSERT_TRUE(inbox->Release(last).ok());
  EXPECT_EQ(Segments().size(), 1u);  // the one being appended to
}

TEST_F(InboxTest, RefusesMessagesOverItsLimit) {
  auto inbox = Open();
  EXPECT_FALSE(inbox->Append("t", std::string(Inbox::kMaxMessageBytes + 1, 'x')).ok());
  EXPECT_TRUE(inbox->Append("t", std::string(Inbox::kMaxMessageBytes, 'x')).ok());
}

}  // namespace
}  // namespace vigil::hub
