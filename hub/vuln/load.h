// Reading vulnerability data from disk: what `vigil-hub vuln import PATH...` takes.
//
// A PATH is
//   - a .json file: one OSV record, a JSON array of OSV records, or the Debian security
//     tracker's document (told apart by shape, parse.h DetectFormat);
//   - a directory: every *.json file under it, recursively, in name order;
//   - a .zip archive, as OSV publishes each ecosystem (one OSV record per *.json member), read
//     with libzip; members larger than 256 MiB are refused (an error naming the member).
// A malformed record is an error naming the file (and the zip member) and what is wrong; the
// other records are still delivered. A PATH that cannot be read at all is an error too.
//
// Advisories are handed to `sink` as they are read, so that memory stays bounded by one file
// (the tracker's document is one file of ~70 MB: it is parsed whole).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hub/vuln/advisory.h"

namespace vigil::hub::vuln {

struct LoadStats {
  size_t files = 0;    // files and zip members read
  size_t records = 0;  // advisories delivered
  std::vector<std::string> errors;
};

using AdvisorySink = std::function<Status(Advisory)>;
// Called after each file or member: files read so far, and the current one's name.
using LoadProgress = std::function<void(const LoadStats&, const std::string& current)>;

// Reads one PATH. A non-OK Status from the sink stops the load and is returned (a store error);
// malformed data only adds to stats->errors.
Status LoadPath(const std::string& path, const AdvisorySink& sink, LoadStats* stats,
                const LoadProgress& progress = nullptr);

// The text of one document, from memory, as a file of that name would be read (used for zip
// members and by the fuzz targets): advisories to `sink`, errors to stats.
Status LoadDocument(std::string_view text, const std::string& origin, const AdvisorySink& sink, LoadStats* stats);

}  // namespace vigil::hub::vuln
