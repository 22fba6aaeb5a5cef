#include "agent/core/pipeline.h"

#include <gtest/gtest.h>

#include "agent/core/collector.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil {
namespace {

class CaptureOutput : public Output {
 public:
  Status Write(const Event& e) override {
    if (fail) return Status::IoError("disk full");
    events.push_back(e);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  std::vector<Event> events;
  bool fail = false;
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() {
    seq_ = SequenceCounter::Open(env_, "/state").value();
    pipeline_ = std::make_unique<Pipeline>(env_, bus_, out_, *seq_, "dev-1",
                                           std::array<int64_t, kPriorityCount>{0, 1000, 5000});
    pipeline_->AddCollector("process", 256, &stats_);
  }
  void Emit(const std::string& key, Priority p) {
    Config cfg;
    CollectorContext ctx{cfg, env_, bus_, pipeline_->scheduler(), stats_, p};
    Event e;
    e.type = "process";
    e.action = "exec";
    e.agg_key = key;
    ctx.Emit(std::move(e));
  }
  FakeEnv env_;
  EventBus bus_{16};
  CaptureOutput out_;
  CollectorStats stats_{"process"};
  std::unique_ptr<SequenceCounter> seq_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineTest, StampsDeviceAndContiguousSequence) {
  Emit("a", Priority::kHigh);
  Emit("b", Priority::kHigh);
  pipeline_->RunOnce(0);
  ASSERT_EQ(out_.events.size(), 2u);
  EXPECT_EQ(out_.events[0].device, "dev-1");
  EXPECT_EQ(out_.events[0].seq, 1u);
  EXPECT_EQ(out_.events[1].seq, 2u);
  EXPECT_EQ(out_.events[0].ts_ms, env_.clock().NowMs());
  EXPECT_EQ(stats_.emitted.load(), 2u);
  EXPECT_EQ(stats_.collected.load(), 2u);
}

TEST_F(PipelineTest, MediumEventsAggregateUntilTheirInterval) {
  for (int i = 0; i < 5; ++i) Emit("same", Priority::kMedium);
  pipeline_->RunOnce(0);
  EXPECT_TRUE(out_.events.empty());
  env_.manual_clock().Advance(1000);
  pipeline_->RunOnce(0);
  ASSERT_EQ(out_.events.size(), 1u);
  EXPECT_EQ(out_.events[0].count, 5u);
}

// Makes one alert per event it sees, and remembers the device each event had when shown.
class AlertEveryEvent : public Inspector {
 public:
  void Inspect(const Event& e, std::vector<Event>* made) override {
    seen_devices.push_back(e.device);
    Event alert;
    alert.type = "alert";
    alert.priority = Priority::kHigh;
    alert.ts_ms = e.ts_ms;
    alert.data["about"] = e.agg_key;
    made->push_back(std::move(alert));
  }
  std::vector<std::string> seen_devices;
};

TEST_F(PipelineTest, TheInspectorSeesEveryEventBeforeAggregationAndItsAlertsAreWrittenAtOnce) {
  AlertEveryEvent inspector;
  pipeline_->SetInspector(&inspector);
  Emit("same", Priority::kMedium);
  Emit("same", Priority::kMedium);
  pipeline_->RunOnce(0);
  // Both occurrences were inspected, with the device already set; the alerts are out, the
  // two medium events are still held by the aggregator (interval 1000 ms).
  EXPECT_EQ(inspector.seen_devices, (std::vector<std::string>{"dev-1", "dev-1"}));
  ASSERT_EQ(out_.events.size(), 2u);
  EXPECT_EQ(out_.events[0].type, "alert");
  EXPECT_EQ(out_.events[0].device, "dev-1");
  EXPECT_EQ(out_.events[0].seq, 1u);
  EXPECT_EQ(out_.events[1].seq, 2u);
  EXPECT_EQ(out_.events[1].data["about"], "same");
  env_.manual_clock().Advance(1000);
  pipeline_->RunOnce(0);
  ASSERT_EQ(out_.events.size(), 3u);
  EXPECT_EQ(out_.events[2].type, "process");
  EXPECT_EQ(out_.events[2].count, 2u);
  EXPECT_EQ(out_.events[2].seq, 3u);
}

// A collector that aggregates on its own hands each occurrence to detection (Observe: inspected,
// never written) and writes its aggregate later (kSkip: written, not inspected again).
TEST_F(PipelineTest, ObservedOccurrencesAreInspectedNotWrittenAndSkippedAggregatesTheReverse) {
  Config cfg;
  CollectorContext ctx{cfg, env_, bus_, pipeline_->scheduler(), stats_, Priority::kHigh};
  EXPECT_FALSE(ctx.observed());
  AlertEveryEvent inspector;
  pipeline_->SetInspector(&inspector);
  EXPECT_TRUE(ctx.observed());
  for (int i = 0; i < 2; ++i) {
    Event occurrence;
    occurrence.type = "network";
    occurrence.action = "connect";
    ctx.Observe(std::move(occurrence));
  }
  Event aggregate;
  aggregate.type = "network";
  aggregate.action = "connect";
  aggregate.count = 2;
  aggregate.inspection = Inspection::kSkip;
  ctx.Emit(std::move(aggregate));
  pipeline_->RunOnce(0);
  EXPECT_EQ(inspector.seen_devices.size(), 2u);  // the two occurrences, not the aggregate
  ASSERT_EQ(out_.events.size(), 3u);             // two alerts and the aggregate
  EXPECT_EQ(out_.events[0].type, "alert");
  EXPECT_EQ(out_.events[1].type, "alert");
  EXPECT_EQ(out_.events[2].type, "network");
  EXPECT_EQ(out_.events[2].count, 2u);
  EXPECT_EQ(stats_.collected.load(), 1u);  // occurrences handed to detection are not collected events
}

TEST_F(PipelineTest, DrainWritesEverythingHeldAndQueued) {
  Emit("x", Priority::kLow);
  pipeline_->RunOnce(0);
  Emit("y", Priority::kMedium);  // still on the bus
  pipeline_->Drain();
  EXPECT_EQ(out_.events.size(), 2u);
}

TEST_F(PipelineTest, BusFullIsCountedAgainstTheCollector) {
  for (int i = 0; i < 20; ++i) Emit("k" + std::to_string(i), Priority::kHigh);
  EXPECT_EQ(stats_.dropped("bus_full"), 4u);
  EXPECT_EQ(stats_.collected.load(), 20u);
}

TEST_F(PipelineTest, AgentStatsReportsCountersRssAndCpu) {
  env_.SetSelf(3 << 20, 1234);
  stats_.SetSource("netlink");
  Emit("a", Priority::kHigh);
  pipeline_->AddStatsTask(1000, Priority::kLow);
  pipeline_->RunOnce(0);
  env_.manual_clock().Advance(1000);
  pipeline_->RunOnce(0);
  ASSERT_EQ(out_.events.size(), 2u);
  const Event& s = out_.events[1];
  EXPECT_EQ(s.type, "agent_stats");
  EXPECT_EQ(s.priority, Priority::kLow);
  EXPECT_EQ(s.data["rss_bytes"], 3 << 20);
  EXPECT_EQ(s.data["cpu_ms"], 1234);
  ASSERT_EQ(s.data["collectors"].size(), 1u);
  EXPECT_EQ(s.data["collectors"][0]["collector"], "process");
  EXPECT_EQ(s.data["collectors"][0]["source"], "netlink");
  EXPECT_EQ(s.data["collectors"][0]["emitted"], 1);
}

TEST_F(PipelineTest, OutputFailuresAreCounted) {
  out_.fail = true;
  Emit("a", Priority::kHigh);
  pipeline_->RunOnce(0);
  EXPECT_EQ(pipeline_->output_errors(), 1u);
}

}  // namespace
}  // namespace vigil
