#include "agent/collectors/sbom/sbom_events.h"

#include <gtest/gtest.h>

#include "schema/schema.h"

namespace vigil::sbom {
namespace {

OsRelease Os(std::string id, std::string version_id) {
  OsRelease os;
  os.id = std::move(id);
  os.version_id = std::move(version_id);
  return os;
}

Package P(std::string name, std::string version) {
  Package p;
  p.name = std::move(name);
  p.version = std::move(version);
  p.arch = "amd64";
  p.source_name = p.name;
  p.source_version = p.version;
  return p;
}

void ExpectValid(std::vector<Event> events) {
  const auto& schema = schema::BuiltinSchema();
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  for (Event& e : events) {
    e.device = "d";
    e.seq = 1;
    e.ts_ms = 1;
    e.priority = Priority::kLow;
    const Json j = EventToJson(e);
    for (const schema::ValidationError& err : schema->Check(j)) ADD_FAILURE() << err.ToString() << "\n" << j.dump();
  }
}

TEST(InventoryEvents, SplitIntoBoundedChunksThatShareAnId) {
  Inventory inv;
  inv.os.id = "debian";
  inv.os.version_id = "12";
  inv.kernels = {"6.1.0"};
  inv.databases = {"/var/lib/dpkg/status"};
  for (int i = 0; i < 1203; ++i) inv.packages.push_back(P("p" + std::to_string(10000 + i), "1.0"));
  inv.issues.push_back({"f", 3, "bad"});
  const std::vector<Event> events = InventoryEvents(inv, "inv-1");
  ASSERT_EQ(events.size(), 3u);
  size_t seen = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const Json& d = events[i].data;
    EXPECT_EQ(events[i].type, "sbom");
    EXPECT_EQ(events[i].action, "inventory");
    EXPECT_TRUE(events[i].agg_key.empty());
    EXPECT_EQ(d["inventory_id"], "inv-1");
    EXPECT_EQ(d["chunk"], i + 1);
    EXPECT_EQ(d["chunks"], 3);
    EXPECT_EQ(d["package_count"], 1203);
    EXPECT_LE(d["packages"].size(), kPackagesPerEvent);
    EXPECT_EQ(d["malformed"], 1);
    EXPECT_LT(EventToJsonLine(events[i]).size(), 200u * 1024) << "one chunk fits an uplink message";
    seen += d["packages"].size();
  }
  EXPECT_EQ(seen, 1203u);
  EXPECT_EQ(events[2].data["packages"].back()["name"], "p11202");
  ExpectValid(events);
}

TEST(InventoryEvents, AnEmptyInventoryIsOneChunk) {
  const std::vector<Event> events = InventoryEvents(Inventory{}, "x");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].data["packages"].empty());
  EXPECT_FALSE(events[0].data.contains("malformed"));
  ExpectValid(events);
}

TEST(ChangeEvents, OnePerPackageWithPreviousVersions) {
  InventoryDiff d;
  d.removed.push_back(P("old", "1"));
  d.added.push_back(P("new", "2"));
  Package before = P("curl", "7.88.1-10");
  Package after = P("curl", "7.88.1-10+deb12u5");
  d.upgraded.push_back({before, after});
  const std::vector<Event> events = ChangeEvents(d, Os("debian", "12"));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].action, "removed");
  EXPECT_EQ(events[0].data["name"], "old");
  EXPECT_EQ(events[1].action, "added");
  EXPECT_EQ(events[2].action, "upgraded");
  EXPECT_EQ(events[2].data["version"], "7.88.1-10+deb12u5");
  EXPECT_EQ(events[2].data["previous_version"], "7.88.1-10");
  EXPECT_EQ(events[2].data["purl"], "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12");
  ExpectValid(events);
}

}  // namespace
}  // namespace vigil::sbom
