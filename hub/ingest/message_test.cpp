#include "hub/ingest/message.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include "hub/ingest/test_events.h"
#include "schema/schema.h"

namespace vigil::hub {
namespace {

using testing::EncodeBatch;
using testing::Heartbeat;
using testing::Heartbeats;

const schema::Schema& TheSchema() { return *schema::BuiltinSchema(); }

TEST(HubTopic, ParsesEveryKind) {
  auto t = ParseTopic("vigil/v1/dev-1/events");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->device, "dev-1");
  EXPECT_EQ(t->kind, TopicKind::kEvents);
  EXPECT_EQ(ParseTopic("vigil/v1/a.b_c/status")->kind, TopicKind::kStatus);
  EXPECT_EQ(ParseTopic("vigil/v1/x/reported")->kind, TopicKind::kReported);
  EXPECT_EQ(ParseTopic("vigil/v1/x/config")->kind, TopicKind::kConfig);
  EXPECT_EQ(TopicFor("x", TopicKind::kConfig), "vigil/v1/x/config");
}

TEST(HubTopic, RefusesOtherTopicsAndBadDeviceIds) {
  for (const char* bad : {"", "vigil/v1/", "vigil/v1/dev", "vigil/v2/dev/events", "vigil/v1/dev/events/x",
                          "vigil/v1/dev/other", "vigil/v1//events", "vigil/v1/d+v/events", "vigil/v1/d v/events",
                          "vigil/v1/0123456789012345678901234567890123456789012345678901234567890123456789/events"}) {
    EXPECT_FALSE(ParseTopic(bad).ok()) << bad;
  }
}

TEST(HubEventsMessage, DecodesAValidBatchIntoRows) {
  auto events = Heartbeats("dev-1", 5, 7);
  std::string msg = EncodeBatch("dev-1", events);
  auto out = DecodeEventsMessage("dev-1", msg, IngestLimits{}, TheSchema());
  ASSERT_TRUE(std::holds_alternative<DecodedEvents>(out)) << std::get<Rejection>(out).message;
  const auto& d = std::get<DecodedEvents>(out);
  EXPECT_EQ(d.first_seq, 5u);
  EXPECT_EQ(d.last_seq, 7u);
  ASSERT_EQ(d.rows.events.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const EventRow& r = d.rows.events[i];
    EXPECT_EQ(r.device, "dev-1");
    EXPECT_EQ(r.seq, events[i].seq);
    EXPECT_EQ(r.ts_ms, events[i].ts_ms);
    EXPECT_EQ(r.type, "heartbeat");
    EXPECT_EQ(r.action, "");
    EXPECT_EQ(r.priority, "high");
    EXPECT_EQ(r.count, 1u);
    EXPECT_EQ(Json::parse(r.json), EventToJson(events[i]));  // content unchanged
  }
}

TEST(HubEventsMessage, StoresEachEventAsTheDeviceWroteIt) {
  // Texts that serialising the parsed event would not give back (a space after the brace).
  std::vector<std::string> texts;
  for (const Event& e : Heartbeats("dev-1", 1, 2)) texts.push_back("{ " + EventToJsonLine(e).substr(1));
  for (bool compress : {true, false}) {
    BatchEncoder::Options o;
    o.compress = compress;
    BatchEncoder enc(o);
    enc.Begin("dev-1");
    for (size_t i = 0; i < texts.size(); ++i) ASSERT_EQ(enc.Add(texts[i], i + 1), BatchEncoder::AddResult::kAdded);
    auto out = DecodeEventsMessage("dev-1", std::string(enc.Finish()), IngestLimits{}, TheSchema());
    ASSERT_TRUE(std::holds_alternative<DecodedEvents>(out)) << std::get<Rejection>(out).message;
    const auto& rows = std::get<DecodedEvents>(out).rows.events;
    ASSERT_EQ(rows.size(), 2u);
    for (size_t i = 0; i < 2; ++i) EXPECT_EQ(rows[i].json, texts[i]);  // byte for byte
  }
}

TEST(HubEventsMessage, KeepsTheCountOfAggregatedEvents) {
  Event e = Heartbeat("dev-1", 1);
  e.count = 4;
  e.last_ts_ms = e.ts_ms + 100;
  auto out = DecodeEventsMessage("dev-1", EncodeBatch("dev-1", {e}, false), IngestLimits{}, TheSchema());
  ASSERT_TRUE(std::holds_alternative<DecodedEvents>(out)) << std::get<Rejection>(out).message;
  EXPECT_EQ(std::get<DecodedEvents>(out).rows.events[0].count, 4u);
}

Rejection RejectionOf(std::string_view topic_device, const std::string& msg, IngestLimits limits = {}) {
  auto out = DecodeEventsMessage(topic_device, msg, limits, TheSchema());
  if (!std::holds_alternative<Rejection>(out)) {
    ADD_FAILURE() << "accepted";
    return {};
  }
  return std::get<Rejection>(out);
}

TEST(HubEventsMessage, RefusesABatchOfAnotherDevice) {
  Rejection r = RejectionOf("dev-1", EncodeBatch("dev-2", Heartbeats("dev-2", 1, 2)));
  EXPECT_EQ(r.reason, kRejectIdentity);
  EXPECT_NE(r.message.find("dev-2"), std::string::npos) << r.message;
}

TEST(HubEventsMessage, RefusesTheWholeBatchWhenOneEventNamesAnotherDevice) {
  auto events = Heartbeats("dev-1", 1, 3);
  events[1].device = "dev-9";
  // The batch codec itself refuses an event whose device differs from the batch's.
  Rejection r = RejectionOf("dev-1", EncodeBatch("dev-1", events));
  EXPECT_TRUE(r.reason == kRejectIdentity || r.reason == kRejectDecode) << r.reason;
}

TEST(HubEventsMessage, RefusesTheWholeBatchWhenOneEventFailsTheSchema) {
  auto events = Heartbeats("dev-1", 1, 3);
  events[2].data = {{"uptime_s", "not a number"}};
  Rejection r = RejectionOf("dev-1", EncodeBatch("dev-1", events));
  EXPECT_EQ(r.reason, kRejectSchema);
  EXPECT_NE(r.message.find("seq 3"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("uptime_s"), std::string::npos) << r.message;
}

TEST(HubEventsMessage, RefusesAnEventWithoutADevice) {
  Json batch = {{"v", 1}, {"device", "dev-1"}, {"first_seq", 1}, {"last_seq", 1}, {"count", 1}};
  Json e = EventToJson(Heartbeat("dev-1", 1));
  e.erase("device");
  batch["events"] = Json::array({e});
  Rejection r = RejectionOf("dev-1", std::string(1, '\0') + batch.dump());
  EXPECT_EQ(r.reason, kRejectIdentity);
}

TEST(HubEventsMessage, RefusesACountThatIsNotPositive) {
  Json batch = {{"v", 1}, {"device", "dev-1"}, {"first_seq", 1}, {"last_seq", 1}, {"count", 1}};
  Json e = EventToJson(Heartbeat("dev-1", 1));
  e["count"] = 0;
  batch["events"] = Json::array({e});
  EXPECT_EQ(RejectionOf("dev-1", std::string(1, '\0') + batch.dump()).reason, kRejectSchema);
}

TEST(HubEventsMessage, RefusesOversizedMessages) {
  IngestLimits limits;
  limits.max_message_bytes = 100;
  Rejection r = RejectionOf("dev-1", EncodeBatch("dev-1", Heartbeats("dev-1", 1, 20), false), limits);
  EXPECT_EQ(r.reason, kRejectTooLarge);
}

TEST(HubEventsMessage, RefusesADecompressionBomb) {
  // 64 MiB of one byte compresses to a few KB; the hub stops at max_raw_bytes.
  std::string raw(64 << 20, ' ');
  std::string frame(ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress(frame.data(), frame.size(), raw.data(), raw.size(), 1);
  ASSERT_FALSE(ZSTD_isError(n));
  frame.resize(n);
  Rejection r = RejectionOf("dev-1", std::string(1, '\x01') + frame);
  EXPECT_EQ(r.reason, kRejectDecode);
}

TEST(HubEventsMessage, RefusesGarbage) {
  for (std::string bad : {std::string(), std::string("\x02{}"), std::string("\x00{", 2), std::string("\x01garbage"),
                          std::string("\x00[]", 3)}) {
    EXPECT_EQ(RejectionOf("dev-1", bad).reason, kRejectDecode) << bad;
  }
}

TEST(HubStatusMessage, ParsesOnlineAndOffline) {
  auto on = ParseStatusMessage(R"({"state":"online","ts":1,"agent_version":"0.1.0"})");
  ASSERT_TRUE(on.ok());
  EXPECT_EQ(on->state, DeviceState::kOnline);
  EXPECT_EQ(on->agent_version, "0.1.0");
  auto off = ParseStatusMessage(R"({"state":"offline"})");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->state, DeviceState::kOffline);
}

TEST(HubStatusMessage, RefusesMalformedOnesNamingTheField) {
  EXPECT_FALSE(ParseStatusMessage("").ok());
  EXPECT_FALSE(ParseStatusMessage("[]").ok());
  auto r = ParseStatusMessage(R"({"state":"sleeping"})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("state"), std::string::npos);
  r = ParseStatusMessage(R"({"state":"online","agent_version":7})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("agent_version"), std::string::npos);
}

TEST(HubReportedMessage, TakesAnObjectOnly) {
  EXPECT_TRUE(ParseReportedMessage(R"({"version":"1","applied":true})").ok());
  EXPECT_FALSE(ParseReportedMessage("\"x\"").ok());
  EXPECT_FALSE(ParseReportedMessage("{").ok());
}

}  // namespace
}  // namespace vigil::hub
