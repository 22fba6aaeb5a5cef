// OpenWatcher: which process opens one of a few given files (device nodes such as
// /dev/watchdog, or any file), for the files collector's `opened` events. inotify says that a
// file was opened but not by whom; this says who.
//
// Implementations:
//   platform/linux/open_watcher_fanotify.cpp  fanotify(7): FAN_OPEN marks on the files'
//       inodes, in FAN_REPORT_FID mode (Linux >= 5.1) so that no event holds the file open:
//       an event with a file descriptor would make the agent open the watchdog itself, which
//       starts it (and closing it without the magic 'V' reboots some devices). Needs
//       CAP_SYS_ADMIN. Unavailable without it, or on an older kernel.
//   tests: a fake (collectors/files/opens_test.cpp)
//
// Threads: everything but Interrupt is called from one thread; Interrupt from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil {

struct OpenNotice {
  std::string path;  // the path it was added under
  int32_t pid = 0;   // the process that opened it (its thread group id)
};

class OpenWatcher {
 public:
  virtual ~OpenWatcher() = default;

  virtual std::string_view name() const = 0;

  // Starts reporting opens of the file at `path` (following symlinks). NotFound when it does
  // not exist; PermissionDenied; InvalidArgument when its file system cannot identify it.
  virtual Status Add(const std::string& path) = 0;

  // Waits up to timeout_ms for opens and appends them to *out. *lost counts opens the kernel
  // dropped (its queue overflowed). Returns early, OK, after Interrupt.
  virtual Status Read(int timeout_ms, std::vector<OpenNotice>* out, uint64_t* lost) = 0;

  virtual void Interrupt() = 0;
};

// The platform's watcher (Linux: fanotify). Unavailable when the kernel or the agent's
// privileges do not allow it.
Result<std::unique_ptr<OpenWatcher>> OpenPlatformOpenWatcher();

}  // namespace vigil
