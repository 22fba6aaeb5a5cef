// Small file helpers shared by the enrollment code (internal to hub/enroll).
//
// WriteFileAtomic writes `path.tmp.<pid>` with `mode`, fsyncs it, renames it over `path` and
// fsyncs the directory: a reader (or a crash) sees the old content or the new, never a part.
// The mode is applied to the new file whatever the umask. Errors name the path and errno.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "agent/core/status.h"

namespace vigil::hub::enroll_internal {

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode);
Result<std::string> ReadWholeFile(const std::string& path);
// Creates `dir` (and missing parents, with mode 0755) and gives `dir` itself `mode`; an existing
// directory is left as it is unless `force_mode`.
Status MakeDir(const std::string& dir, mode_t mode, bool force_mode);
bool FileExists(const std::string& path);

}  // namespace vigil::hub::enroll_internal
