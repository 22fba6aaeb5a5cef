#include "agent/sbom/rpm.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace vigil::sbom {
namespace {

TEST(RpmHeader, ReadsNameEpochVersionReleaseArchAndSource) {
  const auto blob = BuildRpmPackageHeader("bash", "5.2.26", "3.fc40", "x86_64", 1, "bash-5.2.26-3.fc40.src.rpm");
  Result<Package> p = ParseRpmHeader(blob);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->format, PackageFormat::kRpm);
  EXPECT_EQ(p->name, "bash");
  EXPECT_EQ(p->version, "1:5.2.26-3.fc40");
  EXPECT_EQ(p->arch, "x86_64");
  EXPECT_EQ(p->source_name, "bash");
  EXPECT_EQ(p->source_version, "5.2.26-3.fc40");
}

TEST(RpmHeader, AcceptsTheMagicAndSkipsUnknownTagsAndRegions) {
  std::vector<RpmHeaderEntry> e = {
      {63, 7 /* BIN */, {"regiontrailer0123"}, {}},
      {kRpmTagName, kRpmTypeString, {"python3-libs"}, {}},
      {kRpmTagVersion, kRpmTypeString, {"3.12.1"}, {}},
      {1004, kRpmTypeI18nString, {"summary", "résumé"}, {}},
      {kRpmTagRelease, kRpmTypeString, {"2.fc40"}, {}},
      {kRpmTagArch, kRpmTypeString, {"aarch64"}, {}},
      {1005, kRpmTypeInt32, {}, {1700000000}},
      {kRpmTagSourceRpm, kRpmTypeString, {"python3.12-3.12.1-2.fc40.src.rpm"}, {}},
  };
  std::vector<uint8_t> blob = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};
  const auto body = BuildRpmHeader(e);
  blob.insert(blob.end(), body.begin(), body.end());
  Result<Package> p = ParseRpmHeader(blob);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->version, "3.12.1-2.fc40") << "no EPOCH: no epoch in the version";
  EXPECT_EQ(p->source_name, "python3.12");
  EXPECT_EQ(p->source_version, "3.12.1-2.fc40");
}

TEST(RpmHeader, WithoutSourceRpmTheSourceIsTheBinary) {
  Result<Package> p = ParseRpmHeader(BuildRpmPackageHeader("gpg-pubkey", "3c3359c4", "5c6ae44d", "", -1, ""));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->source_name, "gpg-pubkey");
  EXPECT_EQ(p->source_version, "3c3359c4-5c6ae44d");
  EXPECT_EQ(p->arch, "");
}

TEST(RpmHeader, RefusesDamagedHeaders) {
  const auto good = BuildRpmPackageHeader("a", "1", "1", "noarch", -1, "");
  // Truncated anywhere: refused, never read past the end.
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(ParseRpmHeader(cut).ok()) << "cut at " << n;
  }
  // An entry pointing past the data store.
  auto bad = good;
  bad[8 + 8 + 3] = 0x7f;  // first entry's offset, low byte
  EXPECT_EQ(ParseRpmHeader(bad).status().code(), Status::Code::kCorruption);
  // A string without its NUL: the last byte of the data store overwritten.
  bad = good;
  bad.back() = 'x';
  EXPECT_FALSE(ParseRpmHeader(bad).ok());
  // Absurd counts.
  bad = good;
  bad[0] = 0x7f;
  Result<Package> r = ParseRpmHeader(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("index entries"), std::string_view::npos) << r.status().ToString();
  // No RELEASE.
  EXPECT_FALSE(ParseRpmHeader(BuildRpmHeader({{kRpmTagName, kRpmTypeString, {"a"}, {}},
                                              {kRpmTagVersion, kRpmTypeString, {"1"}, {}}}))
                   .ok());
  // EPOCH of the wrong type.
  EXPECT_FALSE(ParseRpmHeader(BuildRpmHeader({{kRpmTagName, kRpmTypeString, {"a"}, {}},
                                              {kRpmTagEpoch, kRpmTypeString, {"1"}, {}}}))
                   .ok());
}

TEST(SourceRpm, SplitsNameVersionRelease) {
  std::string n, vr;
  ASSERT_TRUE(SplitSourceRpm("glibc-2.38-16.fc39.src.rpm", &n, &vr));
  EXPECT_EQ(n, "glibc");
  EXPECT_EQ(vr, "2.38-16.fc39");
  ASSERT_TRUE(SplitSourceRpm("perl-Text-Tabs+Wrap-2023.0511-3.fc39.nosrc.rpm", &n, &vr));
  EXPECT_EQ(n, "perl-Text-Tabs+Wrap");
  EXPECT_FALSE(SplitSourceRpm("nodashes.src.rpm", &n, &vr));
  EXPECT_FALSE(SplitSourceRpm("a-1-2.rpm", &n, &vr));
  EXPECT_FALSE(SplitSourceRpm("-1-2.src.rpm", &n, &vr));
}

// The SQLite rpmdb: a database made the way rpm lays it out, read back; a damaged header is an
// issue naming the file and the header, the others are kept.
TEST(RpmdbSqlite, ReadsEveryHeaderOfThePackagesTable) {
  char dir[] = "/tmp/vigil-rpmdb-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/rpmdb.sqlite";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  const std::vector<std::vector<uint8_t>> blobs = {
      BuildRpmPackageHeader("bash", "5.2.26", "3.fc40", "x86_64", -1, "bash-5.2.26-3.fc40.src.rpm"),
      {0, 0, 0, 1, 0, 0, 0, 0},  // one entry announced, none there
      BuildRpmPackageHeader("kernel-core", "6.8.5", "301.fc40", "x86_64", -1, "kernel-6.8.5-301.fc40.src.rpm"),
  };
  for (const auto& b : blobs) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO Packages (blob) VALUES (?)", -1, &st, nullptr), SQLITE_OK);
    sqlite3_bind_blob(st, 1, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);

  auto read = ReadRpmdbSqlite(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 3u);
  const ParsedPackages p = ParseRpmHeaders(*read, path);
  ASSERT_EQ(p.packages.size(), 2u);
  EXPECT_EQ(p.packages[0].name, "bash");
  EXPECT_EQ(p.packages[1].name, "kernel-core");
  EXPECT_EQ(p.packages[1].source_name, "kernel");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].file, path);
  EXPECT_NE(p.issues[0].reason.find("header #2"), std::string::npos) << p.issues[0].reason;

  EXPECT_EQ(ReadRpmdbSqlite(std::string(dir) + "/absent.sqlite").status().code(), Status::Code::kNotFound);
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace vigil::sbom
