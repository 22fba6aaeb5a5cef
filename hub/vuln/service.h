// The hub's vulnerability state in its store: advisories imported, devices' packages, findings.
//
// Incremental by design, so that nothing rescans the fleet or the data:
//   - Import stores a batch of advisories; only those inserted or changed count, and only the
//     stored packages whose (ecosystem, source) those advisories name (before and after the
//     change) are matched again, against every advisory naming their key.
//   - UpdateDevice takes a device's new package list (its latest SBoM); only the packages that
//     are new, changed or gone since the last list are matched again, against the advisories
//     naming their keys.
// Findings kept: status fixed or unfixed (not affected is never stored).
//
// Thread safety: as the Store's; calls for the same device must not run at once.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "hub/store/store.h"
#include "hub/vuln/match.h"

namespace vigil::hub::vuln {

// The advisory as the store keeps it: `body` is its JSON, `keys` its (ecosystem, package) pairs.
AdvisoryRow ToRow(const Advisory& advisory);
Result<Advisory> FromRow(const AdvisoryRow& row);  // Corruption naming the id when the body is bad
Json AdvisoryToJson(const Advisory& advisory);

VulnFindingRow ToFindingRow(const std::string& device, const Finding& finding, int64_t now_ms);

struct ImportCounts {
  size_t inserted = 0;
  size_t updated = 0;
  size_t unchanged = 0;
  size_t older = 0;             // kept: the stored copy is newer
  size_t packages_matched = 0;  // stored packages matched again
  size_t devices = 0;           // devices whose findings were matched again
};

struct DeviceCounts {
  size_t packages = 0;  // in the new list
  size_t matched = 0;   // packages matched again (new, changed, or sharing a name with one)
  size_t removed = 0;   // packages gone since the last list
  size_t findings = 0;  // findings stored for the packages matched
};

class VulnService {
 public:
  VulnService(Store& store, std::function<int64_t()> now_ms) : store_(store), now_ms_(std::move(now_ms)) {}

  Result<ImportCounts> Import(std::span<const Advisory> advisories);
  Result<DeviceCounts> UpdateDevice(const std::string& device, std::span<const Package> packages);

 private:
  // Matches `packages` (of one device) against every advisory naming their keys.
  Result<std::vector<Finding>> MatchStored(std::span<const Package> packages);

  Store& store_;
  std::function<int64_t()> now_ms_;
};

}  // namespace vigil::hub::vuln
