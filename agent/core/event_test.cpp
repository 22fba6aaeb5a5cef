#include "agent/core/event.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

Event Sample() {
  Event e;
  e.device = "dev-1";
  e.seq = 42;
  e.ts_ms = 1'763'900'000'123;
  e.type = "process";
  e.action = "exec";
  e.priority = Priority::kMedium;
  e.data = {{"pid", 7}, {"exe", "/bin/true"}};
  return e;
}

TEST(Event, JsonHasEnvelopeAtTopAndFieldsUnderData) {
  Json j = EventToJson(Sample());
  EXPECT_EQ(j["v"], kSchemaVersion);
  EXPECT_EQ(j["device"], "dev-1");
  EXPECT_EQ(j["seq"], 42);
  EXPECT_EQ(j["ts"], 1'763'900'000'123);
  EXPECT_EQ(j["type"], "process");
  EXPECT_EQ(j["action"], "exec");
  EXPECT_EQ(j["priority"], "medium");
  EXPECT_EQ(j["data"]["exe"], "/bin/true");
  EXPECT_FALSE(j.contains("count")) << "single events carry no count";
}

TEST(Event, AggregatedEventCarriesCountAndFirstLast) {
  Event e = Sample();
  e.count = 3;
  e.last_ts_ms = e.ts_ms + 500;
  Json j = EventToJson(e);
  EXPECT_EQ(j["count"], 3);
  EXPECT_EQ(j["first_ts"], e.ts_ms);
  EXPECT_EQ(j["last_ts"], e.ts_ms + 500);
}

TEST(Event, RoundTripsThroughJson) {
  Event e = Sample();
  e.count = 2;
  e.last_ts_ms = e.ts_ms + 1;
  auto back = EventFromJson(Json::parse(EventToJsonLine(e)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->seq, e.seq);
  EXPECT_EQ(back->count, 2u);
  EXPECT_EQ(back->last_ts_ms, e.last_ts_ms);
  EXPECT_EQ(back->data, e.data);
}

TEST(Event, InvalidUtf8IsReplacedNotThrown) {
  Event e = Sample();
  e.data["cmdline"] = std::string("a\xff\xfe b");
  std::string line;
  ASSERT_NO_THROW(line = EventToJsonLine(e));
  EXPECT_NE(line.find("\xEF\xBF\xBD"), std::string::npos) << "U+FFFD replaces the bad bytes";
}

TEST(Event, FromJsonNamesTheBadField) {
  Json j = EventToJson(Sample());
  j.erase("seq");
  EXPECT_NE(EventFromJson(j).status().message().find("'seq'"), std::string_view::npos);
  j = EventToJson(Sample());
  j["priority"] = "urgent";
  EXPECT_NE(EventFromJson(j).status().message().find("priority"), std::string_view::npos);
  j = EventToJson(Sample());
  j["data"] = 5;
  EXPECT_FALSE(EventFromJson(j).ok());
  EXPECT_FALSE(EventFromJson(Json::array()).ok());
}

TEST(Priority, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(*ParsePriority("low"), Priority::kLow);
  EXPECT_EQ(PriorityName(Priority::kHigh), "high");
  EXPECT_FALSE(ParsePriority("HIGH").ok());
}

}  // namespace
}  // namespace vigil
