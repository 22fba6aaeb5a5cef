// The difference between two package lists (an inventory before and after a change of the
// package database).
//
// Packages are matched by (format, name, arch). One package on each side with different
// fields is an upgrade (versions are not ordered here: a downgrade is reported the same way);
// where either side holds several packages of one key (rpm keeps several kernels of one name
// and arch installed at once), the versions present only after are added, those present only
// before removed.
#pragma once

#include <vector>

#include "agent/sbom/package.h"

namespace vigil::sbom {

struct PackageUpgrade {
  Package before;
  Package after;
};

struct InventoryDiff {
  std::vector<Package> added;     // sorted as SortPackages
  std::vector<Package> removed;   // sorted as SortPackages
  std::vector<PackageUpgrade> upgraded;  // sorted by the new package
  bool empty() const { return added.empty() && removed.empty() && upgraded.empty(); }
};

InventoryDiff DiffPackages(const std::vector<Package>& before, const std::vector<Package>& after);

}  // namespace vigil::sbom
