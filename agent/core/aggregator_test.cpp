#include "agent/core/aggregator.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

class AggregatorTest : public ::testing::Test {
 protected:
  AggregatorTest() : agg_({0, 60'000, 900'000}, 0, [this](Event&& e) { out_.push_back(std::move(e)); }) {
    agg_.AddCollector("process", 3, &stats_);
  }
  Event Exec(const std::string& key, int64_t ts, Priority p = Priority::kMedium) {
    Event e;
    e.collector = "process";
    e.type = "process";
    e.action = "exec";
    e.agg_key = key;
    e.ts_ms = ts;
    e.priority = p;
    return e;
  }
  CollectorStats stats_{"process"};
  std::vector<Event> out_;
  Aggregator agg_;
};

TEST_F(AggregatorTest, IdenticalEventsCollapseWithCountAndFirstLast) {
  agg_.Add(Exec("k", 1000));
  agg_.Add(Exec("k", 2000));
  agg_.Add(Exec("k", 3000));
  EXPECT_TRUE(out_.empty()) << "medium events are held until the interval ends";
  agg_.Tick(59'999);
  EXPECT_TRUE(out_.empty());
  agg_.Tick(60'000);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].count, 3u);
  EXPECT_EQ(out_[0].ts_ms, 1000);
  EXPECT_EQ(out_[0].last_ts_ms, 3000);
  EXPECT_EQ(stats_.aggregated.load(), 2u);
}

TEST_F(AggregatorTest, EventsThatAlreadyCarryACountAddIt) {
  Event first = Exec("k", 1000);
  first.count = 3;
  first.last_ts_ms = 1500;
  agg_.Add(std::move(first));
  Event second = Exec("k", 1200);
  second.count = 2;
  second.last_ts_ms = 1700;
  agg_.Add(std::move(second));
  agg_.Add(Exec("k", 1600));
  agg_.Tick(60'000);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].count, 6u);
  EXPECT_EQ(stats_.aggregated.load(), 3u);
  EXPECT_EQ(out_[0].ts_ms, 1000);
  EXPECT_EQ(out_[0].last_ts_ms, 1700);
}

TEST_F(AggregatorTest, DifferentKeysStaySeparate) {
  agg_.Add(Exec("a", 1));
  agg_.Add(Exec("b", 2));
  agg_.FlushAll();
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[0].count, 1u);
}

TEST_F(AggregatorTest, HighPriorityAndKeylessEventsPassAtOnce) {
  agg_.Add(Exec("k", 1, Priority::kHigh));
  agg_.Add(Exec("", 2));
  EXPECT_EQ(out_.size(), 2u);
}

TEST_F(AggregatorTest, FullCacheFlushesOldestEarlyAndLosesNothing) {
  for (int i = 0; i < 5; ++i) agg_.Add(Exec("k" + std::to_string(i), i));
  ASSERT_EQ(out_.size(), 2u) << "cache of 3: the two oldest were flushed early";
  EXPECT_EQ(out_[0].agg_key, "k0");
  EXPECT_EQ(out_[1].agg_key, "k1");
  EXPECT_EQ(stats_.flushed_early.load(), 2u);
  EXPECT_EQ(agg_.held(), 3u);
  agg_.FlushAll();
  EXPECT_EQ(out_.size(), 5u);
}

TEST_F(AggregatorTest, PrioritiesFlushOnTheirOwnIntervals) {
  agg_.Add(Exec("m", 1, Priority::kMedium));
  agg_.Add(Exec("l", 2, Priority::kLow));
  agg_.Tick(60'000);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].agg_key, "m");
  EXPECT_EQ(agg_.NextDeadline(), 120'000);
  agg_.Tick(900'000);
  EXPECT_EQ(out_.size(), 2u);
}

TEST_F(AggregatorTest, UnregisteredCollectorPassesThrough) {
  Event e = Exec("k", 1);
  e.collector = "other";
  agg_.Add(std::move(e));
  EXPECT_EQ(out_.size(), 1u);
}

}  // namespace
}  // namespace vigil
