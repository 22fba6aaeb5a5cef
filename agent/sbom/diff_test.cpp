#include "agent/sbom/diff.h"

#include <gtest/gtest.h>

namespace vigil::sbom {
namespace {

Package Pkg(std::string name, std::string version, std::string arch = "amd64",
            PackageFormat f = PackageFormat::kDeb) {
  Package p;
  p.format = f;
  p.name = std::move(name);
  p.version = std::move(version);
  p.arch = std::move(arch);
  p.source_name = p.name;
  p.source_version = p.version;
  return p;
}

TEST(DiffPackages, AddedRemovedAndUpgraded) {
  const std::vector<Package> before = {Pkg("bash", "5.2.15-2"), Pkg("curl", "7.88.1-10"), Pkg("libc6", "2.36-9", "i386"),
                                       Pkg("libc6", "2.36-9")};
  const std::vector<Package> after = {Pkg("bash", "5.2.15-2"), Pkg("curl", "7.88.1-10+deb12u5"),
                                      Pkg("libc6", "2.36-9"), Pkg("zsh", "5.9-4")};
  const InventoryDiff d = DiffPackages(before, after);
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].name, "zsh");
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0].arch, "i386") << "one architecture of a multi-arch package removed";
  ASSERT_EQ(d.upgraded.size(), 1u);
  EXPECT_EQ(d.upgraded[0].before.version, "7.88.1-10");
  EXPECT_EQ(d.upgraded[0].after.version, "7.88.1-10+deb12u5");
  EXPECT_TRUE(DiffPackages(after, after).empty());
}

TEST(DiffPackages, SeveralVersionsOfOneKeyAreAddedAndRemoved) {
  const auto k = [](std::string v) { return Pkg("kernel-core", std::move(v), "x86_64", PackageFormat::kRpm); };
  const InventoryDiff d = DiffPackages({k("6.8.5-301.fc40"), k("6.8.7-300.fc40")}, {k("6.8.7-300.fc40"), k("6.8.9-300.fc40")});
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].version, "6.8.9-300.fc40");
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0].version, "6.8.5-301.fc40");
  EXPECT_TRUE(d.upgraded.empty());
}

TEST(DiffPackages, SameNameInTwoFormatsIsTwoPackages) {
  const InventoryDiff d =
      DiffPackages({Pkg("busybox", "1.36.1-1", "x", PackageFormat::kOpkg)}, {Pkg("busybox", "1.36.1-r15", "x", PackageFormat::kApk)});
  EXPECT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.removed.size(), 1u);
  EXPECT_TRUE(d.upgraded.empty());
}

}  // namespace
}  // namespace vigil::sbom
