#include "hub/api/tokens.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace vigil::hub {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vigil_tokens_XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void WriteText(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<TokenStore> MustOpen(const std::string& path) {
  auto store = TokenStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(TokenStore, MissingFileIsAnEmptyStoreThatAcceptsNothing) {
  TempDir dir;
  auto store = TokenStore::Open((dir.path() / "tokens.json").string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto list = (*store)->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  auto check = (*store)->Check("vgl_anything");
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->has_value());
}

TEST(TokenStore, CreateReturnsPrefixedRandomTokenThatChecksWithItsRole) {
  TempDir dir;
  auto store = MustOpen((dir.path() / "tokens.json").string());
  auto admin = store->Create("ops", Role::kAdmin);
  auto viewer = store->Create("grafana", Role::kViewer);
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  ASSERT_TRUE(viewer.ok()) << viewer.status().ToString();
  EXPECT_EQ(admin->rfind("vgl_", 0), 0u);
  EXPECT_EQ(admin->size(), 4u + 43u);  // 32 bytes in base64url without padding
  EXPECT_NE(*admin, *viewer);
  for (char c : admin->substr(4)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');

  auto a = store->Check(*admin);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->name, "ops");
  EXPECT_EQ((*a)->role, Role::kAdmin);
  auto v = store->Check(*viewer);
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ((*v)->role, Role::kViewer);
  auto wrong = store->Check(*admin + "x");
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->has_value());
  EXPECT_FALSE(store->Check("")->has_value());
}

TEST(TokenStore, FileHoldsOnlyDigestsWithMode0600) {
  TempDir dir;
  fs::path file = dir.path() / "tokens.json";
  auto store = MustOpen(file.string());
  std::string token = *store->Create("ops", Role::kAdmin);
  std::string text = ReadText(file);
  EXPECT_EQ(text.find(token), std::string::npos);
  EXPECT_EQ(text.find(token.substr(4)), std::string::npos);
  EXPECT_NE(text.find(TokenSha256Hex(token)), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto parsed = ParseTokensFile(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].name, "ops");
  EXPECT_GT((*parsed)[0].created_ms, 1'600'000'000'000);
}

TEST(TokenStore, DuplicateAndInvalidNamesAreRefused) {
  TempDir dir;
  auto store = MustOpen((dir.path() / "tokens.json").string());
  ASSERT_TRUE(store->Create("ops", Role::kAdmin).ok());
  auto dup = store->Create("ops", Role::kViewer);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("in use"), std::string_view::npos);
  EXPECT_FALSE(store->Create("", Role::kViewer).ok());
  EXPECT_FALSE(store->Create("has space", Role::kViewer).ok());
  EXPECT_FALSE(store->Create(std::string(65, 'a'), Role::kViewer).ok());
  EXPECT_TRUE(store->Create(std::string(64, 'a'), Role::kViewer).ok());
}

TEST(TokenStore, RevokeRemovesTheTokenAndUnknownNameIsNotFound) {
  TempDir dir;
  auto store = MustOpen((dir.path() / "tokens.json").string());
  std::string token = *store->Create("ops", Role::kAdmin);
  ASSERT_TRUE(store->Check(token)->has_value());
  ASSERT_TRUE(store->Revoke("ops").ok());
  EXPECT_FALSE(store->Check(token)->has_value());
  Status again = store->Revoke("ops");
  EXPECT_EQ(again.code(), Status::Code::kNotFound);
  // The name can be reused, with a new token.
  std::string token2 = *store->Create("ops", Role::kViewer);
  EXPECT_NE(token, token2);
  EXPECT_FALSE(store->Check(token)->has_value());
  EXPECT_TRUE(store->Check(token2)->has_value());
}

TEST(TokenStore, SeesTokensCreatedAndRevokedByAnotherInstance) {
  TempDir dir;
  std::string file = (dir.path() / "tokens.json").string();
  auto server = MustOpen(file);  // as the running hub
  auto cli = MustOpen(file);     // as `vigil-hub token create`
  std::string token = *cli->Create("ci", Role::kViewer);
  auto seen = server->Check(token);
  ASSERT_TRUE(seen.ok());
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ((*seen)->name, "ci");
  // The server's own write does not lose the CLI's entry (writers re-read under the lock).
  std::string other = *server->Create("ops", Role::kAdmin);
  EXPECT_TRUE(cli->Check(other)->has_value());
  ASSERT_TRUE(cli->Revoke("ci").ok());
  EXPECT_FALSE(server->Check(token)->has_value());
  EXPECT_TRUE(server->Check(other)->has_value());
  EXPECT_EQ(server->List()->size(), 1u);
}

TEST(TokenStore, MalformedFileAtOpenNamesFileAndProblem) {
  TempDir dir;
  fs::path file = dir.path() / "tokens.json";
  WriteText(file, "{\"version\": 1, \"tokens\": [{\"name\": \"ops\", \"role\": \"root\", \"sha256\": \"" +
                      std::string(64, 'a') + "\", \"created_ms\": 1}]}");
  auto store = TokenStore::Open(file.string());
  ASSERT_FALSE(store.ok());
  std::string msg(store.status().message());
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("tokens[0].role"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"root\""), std::string::npos) << msg;
}

TEST(TokenStore, FileTurningMalformedFailsClosedUntilMended) {
  TempDir dir;
  fs::path file = dir.path() / "tokens.json";
  auto store = MustOpen(file.string());
  std::string token = *store->Create("ops", Role::kAdmin);
  std::string good = ReadText(file);
  WriteText(file, "{\"version\": 1, \"tokens\": [");
  auto bad = store->Check(token);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(file.string()), std::string_view::npos);
  EXPECT_NE(bad.status().message().find("JSON"), std::string_view::npos);
  // A writer refuses to overwrite a file it cannot read.
  EXPECT_FALSE(store->Create("other", Role::kViewer).ok());
  EXPECT_NE(ReadText(file).find("\"tokens\": ["), std::string::npos);
  WriteText(file, good);
  auto mended = store->Check(token);
  ASSERT_TRUE(mended.ok()) << mended.status().ToString();
  EXPECT_TRUE(mended->has_value());
}

struct BadFileCase {
  const char* text;
  const char* expected;  // a fragment of the error
};

TEST(ParseTokensFile, RejectsEachMalformedShapeWithWhereAndWhat) {
  std::string sha(64, 'b');
  std::string good_entry = "{\"name\":\"a\",\"role\":\"admin\",\"sha256\":\"" + sha + "\",\"created_ms\":5}";
  const std::string cases[][2] = {
      {"", "not valid JSON"},
      {"[]", "expected a JSON object"},
      {"{\"tokens\":[]}", "missing \"version\""},
      {"{\"version\":2,\"tokens\":[]}", "version: expected 1"},
      {"{\"version\":1}", "missing \"tokens\""},
      {"{\"version\":1,\"tokens\":{}}", "tokens: expected an array"},
      {"{\"version\":1,\"tokens\":[],\"extra\":0}", "unknown key \"extra\""},
      {"{\"version\":1,\"tokens\":[5]}", "tokens[0]: expected an object"},
      {"{\"version\":1,\"tokens\":[{\"role\":\"admin\",\"sha256\":\"" + sha + "\",\"created_ms\":5}]}",
       "tokens[0].name"},
      {"{\"version\":1,\"tokens\":[{\"name\":\"a b\",\"role\":\"admin\",\"sha256\":\"" + sha + "\",\"created_ms\":5}]}",
       "tokens[0].name: expected 1 to 64"},
      {"{\"version\":1,\"tokens\":[{\"name\":\"a\",\"role\":\"admin\",\"sha256\":\"" + std::string(64, 'B') +
           "\",\"created_ms\":5}]}",
       "tokens[0].sha256"},
      {"{\"version\":1,\"tokens\":[{\"name\":\"a\",\"role\":\"admin\",\"sha256\":\"abc\",\"created_ms\":5}]}",
       "tokens[0].sha256"},
      {"{\"version\":1,\"tokens\":[{\"name\":\"a\",\"role\":\"admin\",\"sha256\":\"" + sha + "\",\"created_ms\":-1}]}",
       "tokens[0].created_ms"},
      {"{\"version\":1,\"tokens\":[{\"name\":\"a\",\"role\":\"admin\",\"sha256\":\"" + sha + "\",\"created_ms\":1.5}]}",
       "tokens[0].created_ms"},
      {"{\"version\":1,\"tokens\":[{\"name\":\"a\",\"role\":\"admin\",\"sha256\":\"" + sha +
           "\",\"created_ms\":1,\"token\":\"x\"}]}",
       "tokens[0]: unknown key \"token\""},
      {"{\"version\":1,\"tokens\":[" + good_entry + "," + good_entry + "]}", "tokens[1].name: \"a\" is also tokens[0]"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseTokensFile(c[0]);
    ASSERT_FALSE(parsed.ok()) << c[0];
    EXPECT_NE(parsed.status().message().find(c[1]), std::string_view::npos)
        << "input: " << c[0] << "\nerror: " << parsed.status().message();
  }
}

TEST(ParseTokensFile, SerializeRoundTrips) {
  std::vector<TokenEntry> entries = {
      {"ops", Role::kAdmin, std::string(64, 'c'), 1718000000000},
      {"grafana.ro", Role::kViewer, std::string(64, 'd'), 0},
  };
  auto parsed = ParseTokensFile(SerializeTokensFile(entries));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, entries);
}

TEST(TokenSha256Hex, MatchesKnownVector) {
  EXPECT_EQ(TokenSha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Role, NamesRoundTrip) {
  EXPECT_EQ(ParseRole(RoleName(Role::kAdmin)), Role::kAdmin);
  EXPECT_EQ(ParseRole(RoleName(Role::kViewer)), Role::kViewer);
  EXPECT_FALSE(ParseRole("Admin").has_value());
}

}  // namespace
}  // namespace vigil::hub
