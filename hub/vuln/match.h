// Matching installed packages against advisories. OS-free.
//
// A package matches an affected entry when their ecosystems are equal and the package's source
// package (its own name when it has none) is the entry's package; the version compared is the
// source version (the binary's own when none is given), in the ecosystem's order. The verdict
// (advisory.h Evaluate) is fixed (affected, a fixed version exists), unfixed (affected, no fix
// yet) or not affected.
//
// AdvisoryIndex holds advisories in memory, indexed by (ecosystem, source package): matching a
// package costs one hash lookup plus the entries for that package, never a scan of the data.
// Not thread-safe for writes; const methods may run concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hub/vuln/advisory.h"

namespace vigil::hub::vuln {

// One installed package, as an SBoM states it.
struct Package {
  std::string name;            // binary package
  std::string version;         // binary version
  std::string source;          // source package; "" when the same as name
  std::string source_version;  // "" when the same as version
  std::string ecosystem;       // normalised (advisory.h Ecosystem()); "" when unknown

  const std::string& SourceName() const { return source.empty() ? name : source; }
  const std::string& SourceVersion() const { return source_version.empty() ? version : source_version; }
  bool operator==(const Package&) const = default;
};

struct Finding {
  std::string package;  // binary name
  std::string version;  // binary version
  std::string source;   // source package matched
  std::string source_version;
  std::string ecosystem;
  std::string advisory;  // id
  std::vector<std::string> aliases;
  MatchStatus status = MatchStatus::kNotAffected;
  std::string fixed_version;  // status fixed: upgrade to at least this
  std::string severity;
  double score = -1;
  std::string summary;
};

// The key advisories are indexed by: ecosystem, a NUL byte, source package.
std::string PackageKey(std::string_view ecosystem, std::string_view package);

// Tests packages against the given advisories (each entry whose key equals the package's). Only
// affected findings unless include_not_affected. Ordered by package, then advisory id.
std::vector<Finding> MatchAgainst(std::span<const Package> packages, std::span<const Advisory> advisories,
                                  bool include_not_affected);

class AdvisoryIndex {
 public:
  // Adds an advisory, replacing one with the same id.
  void Add(Advisory advisory);
  size_t size() const { return live_; }
  size_t entries() const;  // affected entries indexed

  // Findings for the packages, ordered as MatchAgainst's.
  std::vector<Finding> Match(std::span<const Package> packages, bool include_not_affected) const;

 private:
  struct Ref {
    uint32_t advisory;
    uint32_t affected;
  };
  std::vector<Advisory> advisories_;  // a replaced advisory's slot is reused
  std::unordered_map<std::string, uint32_t> by_id_;
  std::unordered_map<std::string, std::vector<Ref>> by_key_;
  size_t live_ = 0;
};

}  // namespace vigil::hub::vuln
