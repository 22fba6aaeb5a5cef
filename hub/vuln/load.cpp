#include "hub/vuln/load.h"

#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>

#include "hub/vuln/parse.h"

namespace vigil::hub::vuln {
namespace {

namespace fs = std::filesystem;

constexpr zip_uint64_t kMaxMemberBytes = 256ULL << 20;

bool EndsWithIgnoringCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    char c = s[s.size() - suffix.size() + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i]) return false;
  }
  return true;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return Status::IoError(path + ": read error");
  return s.str();
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

Status LoadZip(const std::string& path, const AdvisorySink& sink, LoadStats* stats, const LoadProgress& progress) {
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> z(zip_open(path.c_str(), ZIP_RDONLY, &err));
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    stats->errors.push_back(path + ": cannot open the zip archive: " + zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return Status::Ok();
  }
  zip_int64_t n = zip_get_num_entries(z.get(), 0);
  // Name order, so that imports report in a stable order whatever the archive's.
  std::vector<std::pair<std::string, zip_uint64_t>> members;
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(z.get(), static_cast<zip_uint64_t>(i), 0);
    if (name == nullptr) continue;
    if (EndsWithIgnoringCase(name, ".json")) members.emplace_back(name, static_cast<zip_uint64_t>(i));
  }
  std::sort(members.begin(), members.end());
  std::string buf;
  for (const auto& [name, index] : members) {
    std::string origin = path + ":" + name;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z.get(), index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
      stats->errors.push_back(origin + ": cannot read the member's size");
      continue;
    }
    if (st.size > kMaxMemberBytes) {
      stats->errors.push_back(origin + ": member of " + std::to_string(st.size) + " bytes is over the 256 MiB limit");
      continue;
    }
    std::unique_ptr<zip_file_t, ZipFileCloser> f(zip_fopen_index(z.get(), index, 0));
    if (!f) {
      stats->errors.push_back(origin + ": cannot open the member: " + zip_strerror(z.get()));
      continue;
    }
    buf.resize(st.size);
    zip_int64_t got = st.size == 0 ? 0 : zip_fread(f.get(), buf.data(), st.size);
    if (got < 0 || static_cast<zip_uint64_t>(got) != st.size) {
      stats->errors.push_back(origin + ": cannot read the member (corrupt archive?)");
      continue;
    }
    VIGIL_RETURN_IF_ERROR(LoadDocument(buf, origin, sink, stats));
    if (progress) progress(*stats, origin);
  }
  return Status::Ok();
}

Status LoadFile(const std::string& path, const AdvisorySink& sink, LoadStats* stats, const LoadProgress& progress) {
  if (EndsWithIgnoringCase(path, ".zip")) return LoadZip(path, sink, stats, progress);
  auto text = ReadFile(path);
  if (!text.ok()) {
    stats->errors.push_back(std::string(text.status().message()));
    return Status::Ok();
  }
  VIGIL_RETURN_IF_ERROR(LoadDocument(*text, path, sink, stats));
  if (progress) progress(*stats, path);
  return Status::Ok();
}

}  // namespace

Status LoadDocument(std::string_view text, const std::string& origin, const AdvisorySink& sink, LoadStats* stats) {
  ++stats->files;
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::exception& e) {
    // Say where: a parse error carries the byte offset.
    auto* pe = dynamic_cast<const Json::parse_error*>(&e);
    stats->errors.push_back(origin + ": not valid JSON" +
                            (pe ? " (at byte " + std::to_string(pe->byte) + ")" : std::string()));
    return Status::Ok();
  }
  auto deliver = [&](Advisory adv) -> Status {
    ++stats->records;
    return sink(std::move(adv));
  };
  switch (DetectFormat(doc)) {
    case DataFormat::kOsv: {
      auto adv = ParseOsvRecord(doc, origin);
      if (!adv.ok()) {
        stats->errors.push_back(std::string(adv.status().message()));
        return Status::Ok();
      }
      return deliver(std::move(*adv));
    }
    case DataFormat::kOsvList:
      for (size_t i = 0; i < doc.size(); ++i) {
        auto adv = ParseOsvRecord(doc[i], origin + "[" + std::to_string(i) + "]");
        if (!adv.ok()) {
          stats->errors.push_back(std::string(adv.status().message()));
          continue;
        }
        VIGIL_RETURN_IF_ERROR(deliver(std::move(*adv)));
      }
      return Status::Ok();
    case DataFormat::kDebianTracker: {
      auto advs = ParseDebianTrackerJson(doc, origin, &stats->errors);
      if (!advs.ok()) {
        stats->errors.push_back(std::string(advs.status().message()));
        return Status::Ok();
      }
      doc = Json();  // the tree is large: free it before the sink stores
      for (Advisory& adv : *advs) VIGIL_RETURN_IF_ERROR(deliver(std::move(adv)));
      return Status::Ok();
    }
    case DataFormat::kUnknown:
      break;
  }
  stats->errors.push_back(origin + ": neither an OSV record nor the Debian security tracker's JSON");
  return Status::Ok();
}

Status LoadPath(const std::string& path, const AdvisorySink& sink, LoadStats* stats, const LoadProgress& progress) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound(path + ": no such file or directory");
  if (!fs::is_directory(st)) return LoadFile(path, sink, stats, progress);
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string p = it->path().string();
    if (EndsWithIgnoringCase(p, ".json") || EndsWithIgnoringCase(p, ".zip")) files.push_back(std::move(p));
  }
  if (ec) return Status::IoError(path + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) VIGIL_RETURN_IF_ERROR(LoadFile(f, sink, stats, progress));
  return Status::Ok();
}

}  // namespace vigil::hub::vuln
