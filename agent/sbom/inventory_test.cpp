#include "agent/sbom/inventory.h"

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"
#include "agent/sbom/rpm.h"

namespace vigil::sbom {
namespace {

constexpr char kStatus[] =
    "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n\n"
    "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n\n"
    "Package: broken\nStatus: install ok installed\n";

TEST(ReadInventory, ReadsDatabaseOsReleaseAndRunningKernel) {
  FakeEnv env;
  env.SetFile("/var/lib/dpkg/status", kStatus);
  env.SetFile("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  env.SetUname({"Linux", "6.1.0-18-amd64", "#1 SMP", "x86_64"});
  Result<Inventory> inv = ReadInventory(env, InventoryPaths{});
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  ASSERT_EQ(inv->packages.size(), 2u);
  EXPECT_EQ(inv->packages[0].name, "bash") << "sorted by name";
  EXPECT_EQ(inv->packages[1].source_name, "zlib");
  EXPECT_EQ(inv->os.id, "debian");
  EXPECT_EQ(inv->os.version_id, "12");
  EXPECT_EQ(inv->kernels, std::vector<std::string>{"6.1.0-18-amd64"});
  EXPECT_EQ(inv->databases, std::vector<std::string>{"/var/lib/dpkg/status"});
  ASSERT_EQ(inv->issues.size(), 1u);
  EXPECT_EQ(inv->issues[0].ToString(), "/var/lib/dpkg/status:12: package 'broken' has no Version; skipped");
}

TEST(ReadInventory, UnderARootReadsItsDatabasesAndModules) {
  FakeEnv env;
  env.SetFile("/img/lib/apk/db/installed", "P:musl\nV:1.2.4-r4\nA:aarch64\n");
  env.SetFile("/img/usr/lib/os-release", "ID=alpine\nVERSION_ID=3.19.1\n");
  env.SetFile("/img/lib/modules/6.6.14-0-lts/modules.dep", "");
  env.SetFile("/img/lib/modules/5.15.0/modules.dep", "");
  env.SetUname({"Linux", "host-kernel", "", ""});
  Result<Inventory> inv = ReadInventory(env, PathsUnderRoot("/img/"));
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  ASSERT_EQ(inv->packages.size(), 1u);
  EXPECT_EQ(inv->packages[0].format, PackageFormat::kApk);
  EXPECT_EQ(inv->os.id, "alpine") << "usr/lib/os-release when etc/os-release is absent";
  EXPECT_EQ(inv->kernels, (std::vector<std::string>{"5.15.0", "6.6.14-0-lts"})) << "the image's, not the host's";
}

TEST(ReadInventory, NoDatabaseIsNotFoundNamingThePaths) {
  FakeEnv env;
  env.MakeDirs("/root");
  Result<Inventory> inv = ReadInventory(env, PathsUnderRoot("/root"));
  ASSERT_EQ(inv.status().code(), Status::Code::kNotFound);
  EXPECT_NE(inv.status().message().find("/root/var/lib/dpkg/status"), std::string_view::npos);
}

TEST(ReadInventory, AnUnreadableDatabaseFailsTheRead) {
  FakeEnv env;
  env.SetFile("/var/lib/dpkg/status", kStatus);
  env.SetFile("/lib/apk/db/installed", "P:a\nV:1\n");
  env.DenyPrefix("/lib/apk");
  EXPECT_FALSE(ReadInventory(env, InventoryPaths{}).ok());
}

TEST(ReadInventory, RpmThroughTheReaderGiven) {
  FakeEnv env;
  env.SetFile("/var/lib/rpm/rpmdb.sqlite", "(sqlite)");
  InventoryPaths paths;
  RpmdbReader reader = [](const std::string& path) -> Result<std::vector<std::vector<uint8_t>>> {
    EXPECT_EQ(path, "/var/lib/rpm/rpmdb.sqlite");
    return std::vector<std::vector<uint8_t>>{
        BuildRpmPackageHeader("bash", "5.2.26", "3.fc40", "x86_64", -1, "bash-5.2.26-3.fc40.src.rpm")};
  };
  Result<Inventory> inv = ReadInventory(env, paths, reader);
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  ASSERT_EQ(inv->packages.size(), 1u);
  EXPECT_EQ(inv->packages[0].version, "5.2.26-3.fc40");
}

}  // namespace
}  // namespace vigil::sbom
