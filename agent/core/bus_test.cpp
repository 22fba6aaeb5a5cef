#include "agent/core/bus.h"

#include <thread>

#include <gtest/gtest.h>

namespace vigil {
namespace {

Event Ev(int i) {
  Event e;
  e.type = "t";
  e.data["i"] = i;
  return e;
}

TEST(EventBus, RefusesAndCountsWhenFull) {
  EventBus bus(2);
  EXPECT_TRUE(bus.Push(Ev(1)));
  EXPECT_TRUE(bus.Push(Ev(2)));
  EXPECT_FALSE(bus.Push(Ev(3)));
  EXPECT_EQ(bus.dropped(), 1u);
  std::vector<Event> out;
  EXPECT_EQ(bus.PopAll(&out, std::chrono::milliseconds(0)), 2u);
  EXPECT_EQ(out[0].data["i"], 1);
  EXPECT_EQ(bus.high_watermark(), 2u);
}

TEST(EventBus, ManyProducersLoseNothingWithinCapacity) {
  EventBus bus(100000);
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t)
    producers.emplace_back([&bus, t] {
      for (int i = 0; i < 5000; ++i) ASSERT_TRUE(bus.Push(Ev(t * 10000 + i)));
    });
  std::vector<Event> out;
  size_t got = 0;
  while (got < 20000) got += bus.PopAll(&out, std::chrono::milliseconds(100));
  for (auto& p : producers) p.join();
  EXPECT_EQ(out.size(), 20000u);
  EXPECT_EQ(bus.dropped(), 0u);
}

TEST(EventBus, CloseWakesConsumerAndRefusesPushes) {
  EventBus bus(4);
  std::thread closer([&] { bus.Close(); });
  std::vector<Event> out;
  EXPECT_EQ(bus.PopAll(&out, std::chrono::seconds(30)), 0u);
  closer.join();
  EXPECT_FALSE(bus.Push(Ev(1)));
}

}  // namespace
}  // namespace vigil
