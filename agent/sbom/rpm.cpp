#include "agent/sbom/rpm.h"

#include <array>
#include <cstring>

namespace vigil::sbom {
namespace {

constexpr std::array<uint8_t, 8> kRpmHeaderMagic = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};

uint32_t RpmBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void RpmPutBe32(std::vector<uint8_t>* out, uint32_t v) {
  out->push_back(static_cast<uint8_t>(v >> 24));
  out->push_back(static_cast<uint8_t>(v >> 16));
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}

struct RpmEntry {
  uint32_t tag, type, offset, count;
};

// The first string of a STRING, STRING_ARRAY or I18NSTRING entry.
Result<std::string> RpmString(const RpmEntry& e, std::span<const uint8_t> data) {
  if (e.type != kRpmTypeString && e.type != kRpmTypeStringArray && e.type != kRpmTypeI18nString)
    return Status::Corruption("tag " + std::to_string(e.tag) + ": type " + std::to_string(e.type) +
                              " where a string was expected");
  if (e.count == 0) return Status::Corruption("tag " + std::to_string(e.tag) + ": no string");
  if (e.offset >= data.size()) return Status::Corruption("tag " + std::to_string(e.tag) + ": offset past the data");
  const void* nul = std::memchr(data.data() + e.offset, 0, data.size() - e.offset);
  if (nul == nullptr) return Status::Corruption("tag " + std::to_string(e.tag) + ": string not terminated");
  return std::string(reinterpret_cast<const char*>(data.data() + e.offset),
                     static_cast<const uint8_t*>(nul) - (data.data() + e.offset));
}

Result<int32_t> RpmInt32(const RpmEntry& e, std::span<const uint8_t> data) {
  if (e.type != kRpmTypeInt32 || e.count == 0)
    return Status::Corruption("tag " + std::to_string(e.tag) + ": not an INT32");
  if (e.offset % 4 != 0 || data.size() < 4 || e.offset > data.size() - 4)
    return Status::Corruption("tag " + std::to_string(e.tag) + ": INT32 out of the data or misaligned");
  return static_cast<int32_t>(RpmBe32(data.data() + e.offset));
}

bool RpmBadToken(const std::string& s) {
  if (s.empty()) return true;
  for (char c : s)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return true;
  return false;
}

}  // namespace

bool SplitSourceRpm(std::string_view file, std::string* name, std::string* version_release) {
  for (std::string_view suffix : {".src.rpm", ".nosrc.rpm"}) {
    if (file.size() > suffix.size() && file.ends_with(suffix)) {
      file.remove_suffix(suffix.size());
      const size_t rel = file.rfind('-');
      if (rel == std::string_view::npos || rel == 0) return false;
      const size_t ver = file.rfind('-', rel - 1);
      if (ver == std::string_view::npos || ver == 0 || ver + 1 == rel || rel + 1 == file.size()) return false;
      *name = std::string(file.substr(0, ver));
      *version_release = std::string(file.substr(ver + 1));
      return true;
    }
  }
  return false;
}

Result<Package> ParseRpmHeader(std::span<const uint8_t> blob) {
  if (blob.size() >= kRpmHeaderMagic.size() && std::memcmp(blob.data(), kRpmHeaderMagic.data(), 8) == 0)
    blob = blob.subspan(8);
  if (blob.size() < 8) return Status::Corruption("rpm header: shorter than its counts");
  const auto il = static_cast<int32_t>(RpmBe32(blob.data()));
  const auto dl = static_cast<int32_t>(RpmBe32(blob.data() + 4));
  if (il < 1 || il > kRpmMaxIndexEntries)
    return Status::Corruption("rpm header: " + std::to_string(il) + " index entries (1.." +
                              std::to_string(kRpmMaxIndexEntries) + ")");
  if (dl < 0 || dl > kRpmMaxDataBytes) return Status::Corruption("rpm header: data store of " + std::to_string(dl) + " bytes");
  const size_t index_bytes = static_cast<size_t>(il) * 16;
  if (blob.size() - 8 < index_bytes + static_cast<size_t>(dl))
    return Status::Corruption("rpm header: " + std::to_string(blob.size()) + " bytes, shorter than its " +
                              std::to_string(il) + " entries and " + std::to_string(dl) + " data bytes");
  const std::span<const uint8_t> data = blob.subspan(8 + index_bytes, static_cast<size_t>(dl));

  std::string name, version, release, arch, source_rpm;
  int32_t epoch = -1;
  for (int32_t i = 0; i < il; ++i) {
    const uint8_t* p = blob.data() + 8 + static_cast<size_t>(i) * 16;
    const RpmEntry e{RpmBe32(p), RpmBe32(p + 4), RpmBe32(p + 8), RpmBe32(p + 12)};
    std::string* target = nullptr;
    switch (e.tag) {
      case kRpmTagName: target = &name; break;
      case kRpmTagVersion: target = &version; break;
      case kRpmTagRelease: target = &release; break;
      case kRpmTagArch: target = &arch; break;
      case kRpmTagSourceRpm: target = &source_rpm; break;
      case kRpmTagEpoch: {
        Result<int32_t> v = RpmInt32(e, data);
        if (!v.ok()) return Status::Corruption("rpm header: " + std::string(v.status().message()));
        epoch = *v;
        continue;
      }
      default: continue;
    }
    Result<std::string> s = RpmString(e, data);
    if (!s.ok()) return Status::Corruption("rpm header: " + std::string(s.status().message()));
    *target = std::move(*s);
  }
  if (RpmBadToken(name)) return Status::Corruption("rpm header: no valid NAME");
  if (RpmBadToken(version) || RpmBadToken(release))
    return Status::Corruption("rpm header of '" + name + "': no valid VERSION or RELEASE");
  Package pkg;
  pkg.format = PackageFormat::kRpm;
  pkg.name = name;
  pkg.version = (epoch >= 0 ? std::to_string(epoch) + ":" : "") + version + "-" + release;
  pkg.arch = RpmBadToken(arch) ? "" : arch;
  if (!SplitSourceRpm(source_rpm, &pkg.source_name, &pkg.source_version)) {
    pkg.source_name = pkg.name;
    pkg.source_version = version + "-" + release;
  }
  return pkg;
}

std::vector<uint8_t> BuildRpmHeader(const std::vector<RpmHeaderEntry>& entries) {
  std::vector<uint8_t> index, data;
  for (const RpmHeaderEntry& e : entries) {
    uint32_t count = 0;
    if (e.type == kRpmTypeInt32) {
      while (data.size() % 4 != 0) data.push_back(0);
      RpmPutBe32(&index, e.tag);
      RpmPutBe32(&index, e.type);
      RpmPutBe32(&index, static_cast<uint32_t>(data.size()));
      for (int32_t v : e.ints) RpmPutBe32(&data, static_cast<uint32_t>(v));
      count = static_cast<uint32_t>(e.ints.size());
    } else {
      RpmPutBe32(&index, e.tag);
      RpmPutBe32(&index, e.type);
      RpmPutBe32(&index, static_cast<uint32_t>(data.size()));
      for (const std::string& s : e.strings) {
        data.insert(data.end(), s.begin(), s.end());
        data.push_back(0);
      }
      count = static_cast<uint32_t>(e.strings.size());
    }
    RpmPutBe32(&index, count);
  }
  std::vector<uint8_t> out;
  RpmPutBe32(&out, static_cast<uint32_t>(entries.size()));
  RpmPutBe32(&out, static_cast<uint32_t>(data.size()));
  out.insert(out.end(), index.begin(), index.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> BuildRpmPackageHeader(const std::string& name, const std::string& version,
                                           const std::string& release, const std::string& arch, int32_t epoch,
                                           const std::string& source_rpm) {
  std::vector<RpmHeaderEntry> e = {
      {kRpmTagName, kRpmTypeString, {name}, {}},
      {kRpmTagVersion, kRpmTypeString, {version}, {}},
      {kRpmTagRelease, kRpmTypeString, {release}, {}},
  };
  if (epoch >= 0) e.push_back({kRpmTagEpoch, kRpmTypeInt32, {}, {epoch}});
  e.push_back({kRpmTagArch, kRpmTypeString, {arch}, {}});
  if (!source_rpm.empty()) e.push_back({kRpmTagSourceRpm, kRpmTypeString, {source_rpm}, {}});
  return BuildRpmHeader(e);
}

ParsedPackages ParseRpmHeaders(const std::vector<std::vector<uint8_t>>& blobs, std::string_view file) {
  ParsedPackages out;
  for (size_t i = 0; i < blobs.size(); ++i) {
    Result<Package> p = ParseRpmHeader(blobs[i]);
    if (p.ok()) {
      out.packages.push_back(std::move(*p));
    } else {
      out.issues.push_back({std::string(file), 0, "header #" + std::to_string(i + 1) + ": " +
                                                      std::string(p.status().message())});
    }
  }
  return out;
}

}  // namespace vigil::sbom
