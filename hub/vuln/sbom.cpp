#include "hub/vuln/sbom.h"

#include <optional>

namespace vigil::hub::vuln {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return Status::InvalidArgument("truncated %-escape");
    int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("bad %-escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string LowerCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// A string member of an object; "" when absent or of another type (Json::value would throw).
std::string StringField(const Json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool EndsWith(std::string_view s, std::string_view suffix) { return s.size() >= suffix.size() && s.ends_with(suffix); }

// "name (version)" or "name@version" -> name, version; else the whole text as the name.
std::pair<std::string, std::string> SplitSource(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (size_t paren = s.find(" ("); paren != std::string_view::npos && s.ends_with(")")) {
    return {std::string(s.substr(0, paren)), std::string(s.substr(paren + 2, s.size() - paren - 3))};
  }
  if (size_t at = s.find('@'); at != std::string_view::npos) {
    return {std::string(s.substr(0, at)), std::string(s.substr(at + 1))};
  }
  return {std::string(s), ""};
}

// The operating system an SBoM describes, as "family" and "version" ("debian", "12").
std::optional<std::string> OsEcosystem(const Json& bom) {
  auto from = [](const Json& c) -> std::optional<std::string> {
    if (StringField(c, "type") != "operating-system") return std::nullopt;
    std::string name = StringField(c, "name"), version = StringField(c, "version");
    if (name.empty() || version.empty()) return std::nullopt;
    return EcosystemFromDistro(name, version);
  };
  if (auto md = bom.find("metadata"); md != bom.end() && md->is_object()) {
    if (auto c = md->find("component"); c != md->end()) {
      if (auto e = from(*c)) return e;
    }
  }
  if (auto comps = bom.find("components"); comps != bom.end() && comps->is_array()) {
    for (const Json& c : *comps) {
      if (auto e = from(c)) return e;
    }
  }
  return std::nullopt;
}

// Source package and version from the component's properties, when it has them.
void SourceFromProperties(const Json& component, Package* p) {
  auto props = component.find("properties");
  if (props == component.end() || !props->is_array()) return;
  for (const Json& prop : *props) {
    if (!prop.is_object()) continue;
    auto n = prop.find("name");
    auto v = prop.find("value");
    if (n == prop.end() || v == prop.end() || !n->is_string() || !v->is_string()) continue;
    std::string name = LowerCase(n->get<std::string>());
    const std::string& value = v->get_ref<const std::string&>();
    if (value.empty()) continue;
    if (EndsWith(name, "sourceversion") || EndsWith(name, "source_version") || EndsWith(name, "source:version")) {
      p->source_version = value;
    } else if (EndsWith(name, "sourcepackage") || EndsWith(name, "source_package") || EndsWith(name, "source") ||
               EndsWith(name, "srcname") || EndsWith(name, "sourcename")) {
      auto [src, ver] = SplitSource(value);
      p->source = src;
      if (!ver.empty() && p->source_version.empty()) p->source_version = ver;
    } else if (EndsWith(name, "srcversion") && p->source_version.empty()) {
      p->source_version = value;
    }
  }
}

}  // namespace

std::string Purl::Qualifier(std::string_view key) const {
  for (const auto& [k, v] : qualifiers) {
    if (k == key) return v;
  }
  return "";
}

Result<Purl> ParsePurl(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("purl '" + std::string(text.substr(0, 200)) + "': " + std::string(why));
  };
  if (!text.starts_with("pkg:")) return bad("does not start with pkg:");
  std::string_view rest = text.substr(4);
  while (rest.starts_with("/")) rest.remove_prefix(1);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  Purl p;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    std::string_view qs = rest.substr(q + 1);
    rest = rest.substr(0, q);
    while (!qs.empty()) {
      size_t amp = qs.find('&');
      std::string_view kv = qs.substr(0, amp);
      qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
      if (kv.empty()) continue;
      size_t eq = kv.find('=');
      if (eq == std::string_view::npos) return bad("qualifier without '='");
      auto value = PercentDecode(kv.substr(eq + 1));
      if (!value.ok()) return bad(value.status().message());
      p.qualifiers.emplace_back(LowerCase(kv.substr(0, eq)), std::move(*value));
    }
  }
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    auto version = PercentDecode(rest.substr(at + 1));
    if (!version.ok()) return bad(version.status().message());
    p.version = std::move(*version);
    rest = rest.substr(0, at);
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("no type/name");
  p.type = LowerCase(rest.substr(0, slash));
  rest = rest.substr(slash + 1);
  while (rest.ends_with("/")) rest.remove_suffix(1);
  size_t last = rest.rfind('/');
  auto name = PercentDecode(last == std::string_view::npos ? rest : rest.substr(last + 1));
  if (!name.ok()) return bad(name.status().message());
  p.name = std::move(*name);
  if (last != std::string_view::npos) {
    auto ns = PercentDecode(rest.substr(0, last));
    if (!ns.ok()) return bad(ns.status().message());
    p.namespace_ = std::move(*ns);
  }
  if (p.type.empty() || p.name.empty()) return bad("empty type or name");
  return p;
}

std::optional<std::string> PurlEcosystem(const Purl& purl) {
  std::string distro = purl.Qualifier("distro");
  if (distro.empty()) return std::nullopt;
  return EcosystemFromDistro(purl.type == "apk" ? "alpine" : purl.namespace_, distro);
}

Result<SbomPackages> ParseCycloneDxJson(const Json& bom, std::string_view origin) {
  if (!bom.is_object()) return Status::InvalidArgument(std::string(origin) + ": an SBoM is not a JSON object");
  if (StringField(bom, "bomFormat") != "CycloneDX") {
    return Status::InvalidArgument(std::string(origin) + ": not a CycloneDX BOM (bomFormat is not \"CycloneDX\")");
  }
  SbomPackages out;
  auto comps = bom.find("components");
  if (comps == bom.end() || comps->is_null()) return out;
  if (!comps->is_array()) return Status::InvalidArgument(std::string(origin) + ": components is not an array");
  std::optional<std::string> os = OsEcosystem(bom);
  for (size_t i = 0; i < comps->size(); ++i) {
    const Json& c = (*comps)[i];
    auto purl_it = c.is_object() ? c.find("purl") : c.end();
    if (!c.is_object() || purl_it == c.end() || !purl_it->is_string()) {
      ++out.skipped;
      continue;
    }
    std::string label = std::string(origin) + ": components[" + std::to_string(i) + "]";
    auto purl = ParsePurl(purl_it->get_ref<const std::string&>());
    if (!purl.ok()) {
      out.warnings.push_back(label + ": " + std::string(purl.status().message()));
      continue;
    }
    if (purl->type != "deb" && purl->type != "apk" && purl->type != "rpm") {
      ++out.skipped;
      continue;
    }
    Package p;
    p.name = purl->name.empty() ? StringField(c, "name") : purl->name;
    p.version = purl->version.empty() ? StringField(c, "version") : purl->version;
    if (purl->type == "rpm" && !purl->Qualifier("epoch").empty() && p.version.find(':') == std::string::npos) {
      p.version = purl->Qualifier("epoch") + ":" + p.version;
    }
    if (p.name.empty() || p.version.empty()) {
      out.warnings.push_back(label + ": no package name or version");
      continue;
    }
    if (auto e = PurlEcosystem(*purl)) p.ecosystem = *e;
    if (p.ecosystem.empty() && os) p.ecosystem = *os;
    SourceFromProperties(c, &p);
    for (const char* key : {"upstream", "source"}) {
      std::string q = purl->Qualifier(key);
      if (q.empty() || !p.source.empty()) continue;
      auto [src, ver] = SplitSource(q);
      p.source = src;
      if (!ver.empty() && p.source_version.empty()) p.source_version = ver;
    }
    if (p.source == p.name) p.source.clear();
    if (p.source_version == p.version) p.source_version.clear();
    if (p.ecosystem.empty()) {
      out.warnings.push_back(label + " (" + p.name + "): no distribution (no distro qualifier, no operating-system component)");
    }
    out.packages.push_back(std::move(p));
  }
  return out;
}

Result<SbomPackages> ParseCycloneDx(std::string_view text, std::string_view origin) {
  Json bom = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (bom.is_discarded()) return Status::InvalidArgument(std::string(origin) + ": not valid JSON");
  return ParseCycloneDxJson(bom, origin);
}

}  // namespace vigil::hub::vuln
