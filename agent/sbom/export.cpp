#include "agent/sbom/export.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>

namespace vigil::sbom {
namespace {

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
        c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// purl namespaces are lower-case segments.
std::string LowerNamespace(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string Distro(const OsRelease& os) {
  if (os.id.empty()) return "";
  return os.version_id.empty() ? os.id : os.id + "-" + os.version_id;
}

// The upstream version of a kernel release ("6.1.0-13-amd64" -> "6.1.0").
std::string KernelVersion(const std::string& release) {
  const size_t end = release.find_first_not_of("0123456789.");
  std::string v = release.substr(0, end);
  while (!v.empty() && v.back() == '.') v.pop_back();
  return v.empty() ? release : v;
}

std::string KernelCpe(const std::string& release) {
  std::string v;
  for (char c : KernelVersion(release)) {
    // CPE 2.3 formatted string: quote the characters that are not alphanumeric, "_" or "."
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') v += '\\';
    v += c;
  }
  return "cpe:2.3:o:linux:linux_kernel:" + v + ":*:*:*:*:*:*:*";
}

// SPDX ids: letters, digits, "." and "-".
std::string SpdxIdPart(std::string_view s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '-';
  return out.substr(0, 80);
}

Json Property(std::string name, std::string value) { return Json{{"name", std::move(name)}, {"value", std::move(value)}}; }

}  // namespace

std::string Purl(const Package& p, const OsRelease& os) {
  std::string type, ns = LowerNamespace(os.id), version = p.version;
  std::map<std::string, std::string> q;
  switch (p.format) {
    case PackageFormat::kDeb:
      type = "deb";
      if (ns.empty()) ns = "debian";
      break;
    case PackageFormat::kApk:
      type = "apk";
      if (ns.empty()) ns = "alpine";
      break;
    case PackageFormat::kRpm: {
      type = "rpm";
      const size_t colon = version.find(':');
      if (colon != std::string::npos) {
        q["epoch"] = version.substr(0, colon);
        version = version.substr(colon + 1);
      }
      break;
    }
    case PackageFormat::kOpkg:
      type = "generic";
      if (ns.empty()) ns = "openwrt";
      break;
  }
  q["arch"] = p.arch;
  q["distro"] = Distro(os);
  // The source version is left out where it is the binary's own (for rpm: without the epoch,
  // which a source rpm's name never has).
  std::string src_version = p.source_version;
  std::string own_version = p.version;
  if (p.format == PackageFormat::kRpm) own_version = version;
  if (src_version == own_version) src_version.clear();
  if (!p.source_name.empty() && (p.source_name != p.name || !src_version.empty()))
    q["upstream"] = src_version.empty() ? p.source_name : p.source_name + "@" + src_version;
  std::string out = "pkg:" + type + "/";
  if (!ns.empty()) out += PercentEncode(ns) + "/";
  out += PercentEncode(p.name);
  if (!version.empty()) out += "@" + PercentEncode(version);
  char sep = '?';
  for (const auto& [k, v] : q) {
    if (v.empty()) continue;
    out += sep + k + "=" + PercentEncode(v);
    sep = '&';
  }
  return out;
}

std::string NewUuid() {
  std::random_device rd;
  std::mt19937_64 gen((uint64_t{rd()} << 32) ^ rd());
  uint8_t b[16];
  for (int i = 0; i < 16; i += 8) {
    const uint64_t v = gen();
    for (int j = 0; j < 8; ++j) b[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char s[37];
  std::snprintf(s, sizeof(s), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return s;
}

std::string IsoTimeUtc(int64_t ms) {
  using namespace std::chrono;
  const sys_seconds t{seconds{ms / 1000}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  char s[64];  // room for any year and field the formats could print, as GCC checks
  std::snprintf(s, sizeof(s), "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()));
  return s;
}

Json OsReleaseJson(const OsRelease& os) {
  Json j = Json::object();
  if (!os.id.empty()) j["id"] = os.id;
  if (!os.version_id.empty()) j["version_id"] = os.version_id;
  if (!os.name.empty()) j["name"] = os.name;
  if (!os.pretty_name.empty()) j["pretty_name"] = os.pretty_name;
  if (!os.version_codename.empty()) j["version_codename"] = os.version_codename;
  return j;
}

Json PackageJson(const Package& p, const OsRelease& os) {
  Json j = {{"name", p.name}, {"version", p.version}};
  if (!p.arch.empty()) j["arch"] = p.arch;
  j["format"] = std::string(PackageFormatName(p.format));
  j["source_name"] = p.source_name;
  j["source_version"] = p.source_version;
  j["purl"] = Purl(p, os);
  return j;
}

Json ToVigilJson(const Inventory& inv) {
  Json packages = Json::array();
  for (const Package& p : inv.packages) packages.push_back(PackageJson(p, inv.os));
  Json issues = Json::array();
  for (const ParseIssue& i : inv.issues) issues.push_back(i.ToString());
  return Json{{"os", OsReleaseJson(inv.os)}, {"kernels", inv.kernels}, {"databases", inv.databases},
              {"packages", std::move(packages)}, {"issues", std::move(issues)}};
}

Json ToCycloneDx(const Inventory& inv, const DocumentInfo& info) {
  Json components = Json::array();
  std::set<std::string> refs;
  auto unique_ref = [&](std::string ref) {
    std::string r = ref;
    for (int n = 2; !refs.insert(r).second; ++n) r = ref + "#" + std::to_string(n);
    return r;
  };
  if (!inv.os.id.empty()) {
    Json os = {{"type", "operating-system"}, {"bom-ref", unique_ref("os:" + inv.os.id)}, {"name", inv.os.id}};
    if (!inv.os.version_id.empty()) os["version"] = inv.os.version_id;
    if (!inv.os.pretty_name.empty()) os["description"] = inv.os.pretty_name;
    components.push_back(std::move(os));
  }
  for (const std::string& k : inv.kernels) {
    components.push_back({{"type", "operating-system"},
                          {"bom-ref", unique_ref("kernel:" + k)},
                          {"name", "linux-kernel"},
                          {"version", k},
                          {"cpe", KernelCpe(k)},
                          {"properties", Json::array({Property("vigil:component", "kernel")})}});
  }
  for (const Package& p : inv.packages) {
    const std::string purl = Purl(p, inv.os);
    Json c = {{"type", "library"}, {"bom-ref", unique_ref(purl)}, {"name", p.name}, {"version", p.version},
              {"purl", purl}};
    Json props = Json::array({Property("vigil:package:format", std::string(PackageFormatName(p.format))),
                              Property("vigil:package:source_name", p.source_name),
                              Property("vigil:package:source_version", p.source_version)});
    if (!p.arch.empty()) props.push_back(Property("vigil:package:arch", p.arch));
    c["properties"] = std::move(props);
    components.push_back(std::move(c));
  }
  Json metadata = {
      {"timestamp", IsoTimeUtc(info.now_ms)},
      {"tools",
       {{"components", Json::array({{{"type", "application"}, {"name", "vigil-agent"}, {"version", info.tool_version}}})}}},
      {"component", {{"type", "device"}, {"bom-ref", "subject"}, {"name", info.subject.empty() ? "unknown" : info.subject}}}};
  return Json{{"bomFormat", "CycloneDX"},
              {"specVersion", "1.5"},
              {"serialNumber", "urn:uuid:" + info.uuid},
              {"version", 1},
              {"metadata", std::move(metadata)},
              {"components", std::move(components)}};
}

Json ToSpdx(const Inventory& inv, const DocumentInfo& info) {
  Json packages = Json::array();
  Json relationships = Json::array();
  auto base = [](std::string spdx_id, const std::string& name, const std::string& version) {
    Json p = {{"SPDXID", std::move(spdx_id)},
              {"name", name},
              {"downloadLocation", "NOASSERTION"},
              {"filesAnalyzed", false},
              {"licenseConcluded", "NOASSERTION"},
              {"licenseDeclared", "NOASSERTION"},
              {"copyrightText", "NOASSERTION"}};
    if (!version.empty()) p["versionInfo"] = version;
    return p;
  };
  // The OS is what the document describes; it contains the kernels and packages. Without an
  // OS ID, the device itself stands in.
  const std::string root_id = "SPDXRef-OS";
  Json os = base(root_id, inv.os.id.empty() ? (info.subject.empty() ? "unknown" : info.subject) : inv.os.id,
                 inv.os.version_id);
  os["primaryPackagePurpose"] = "OPERATING-SYSTEM";
  if (!inv.os.pretty_name.empty()) os["description"] = inv.os.pretty_name;
  packages.push_back(std::move(os));
  relationships.push_back(
      {{"spdxElementId", "SPDXRef-DOCUMENT"}, {"relationshipType", "DESCRIBES"}, {"relatedSpdxElement", root_id}});
  size_t n = 0;
  for (const std::string& k : inv.kernels) {
    const std::string id = "SPDXRef-Kernel-" + std::to_string(++n) + "-" + SpdxIdPart(k);
    Json p = base(id, "linux-kernel", k);
    p["primaryPackagePurpose"] = "OPERATING-SYSTEM";
    p["externalRefs"] = Json::array(
        {{{"referenceCategory", "SECURITY"}, {"referenceType", "cpe23Type"}, {"referenceLocator", KernelCpe(k)}}});
    packages.push_back(std::move(p));
    relationships.push_back({{"spdxElementId", root_id}, {"relationshipType", "CONTAINS"}, {"relatedSpdxElement", id}});
  }
  n = 0;
  for (const Package& pkg : inv.packages) {
    const std::string id = "SPDXRef-Package-" + std::string(PackageFormatName(pkg.format)) + "-" +
                           std::to_string(++n) + "-" + SpdxIdPart(pkg.name);
    Json p = base(id, pkg.name, pkg.version);
    p["primaryPackagePurpose"] = "LIBRARY";
    p["sourceInfo"] = "built from source package " + pkg.source_name + " " + pkg.source_version;
    p["externalRefs"] = Json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                                      {"referenceType", "purl"},
                                      {"referenceLocator", Purl(pkg, inv.os)}}});
    packages.push_back(std::move(p));
    relationships.push_back({{"spdxElementId", root_id}, {"relationshipType", "CONTAINS"}, {"relatedSpdxElement", id}});
  }
  const std::string name = info.subject.empty() ? "unknown" : info.subject;
  return Json{{"spdxVersion", "SPDX-2.3"},
              {"dataLicense", "CC0-1.0"},
              {"SPDXID", "SPDXRef-DOCUMENT"},
              {"name", "vigil-sbom-" + name},
              {"documentNamespace", "https://vigil.invalid/spdx/" + SpdxIdPart(name) + "-" + info.uuid},
              {"creationInfo", {{"created", IsoTimeUtc(info.now_ms)}, {"creators", {"Tool: vigil-agent-" + info.tool_version}}}},
              {"packages", std::move(packages)},
              {"relationships", std::move(relationships)}};
}

}  // namespace vigil::sbom
