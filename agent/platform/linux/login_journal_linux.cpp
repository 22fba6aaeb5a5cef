// The journal through libsystemd's sd_journal API, loaded at run time (see login_journal.h).
#include <poll.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "agent/platform/linux/login_journal.h"
#include "agent/platform/linux/shared_library.h"

namespace vigil {
namespace {

// The functions of libsystemd the reader uses, resolved once.
struct SdJournalApi {
  decltype(&sd_journal_open) open = nullptr;
  decltype(&sd_journal_open_directory) open_directory = nullptr;
  decltype(&sd_journal_close) close = nullptr;
  decltype(&sd_journal_add_match) add_match = nullptr;
  decltype(&sd_journal_seek_tail) seek_tail = nullptr;
  decltype(&sd_journal_previous) previous = nullptr;
  decltype(&sd_journal_next) next = nullptr;
  decltype(&sd_journal_get_data) get_data = nullptr;
  decltype(&sd_journal_get_realtime_usec) get_realtime_usec = nullptr;
  decltype(&sd_journal_set_data_threshold) set_data_threshold = nullptr;
  decltype(&sd_journal_get_fd) get_fd = nullptr;
  decltype(&sd_journal_get_events) get_events = nullptr;
  decltype(&sd_journal_get_timeout) get_timeout = nullptr;
  decltype(&sd_journal_process) process = nullptr;
};

// Loaded once and kept for the life of the process (a reload opens the journal again).
Result<const SdJournalApi*> LoadApi() {
  return LoadForProcess<SdJournalApi>({"libsystemd.so.0"}, "install the package libsystemd0",
                                      [](SharedLibrary& lib, SdJournalApi& a) {
                                        lib.Bind(a.open, "sd_journal_open");
                                        lib.Bind(a.open_directory, "sd_journal_open_directory");
                                        lib.Bind(a.close, "sd_journal_close");
                                        lib.Bind(a.add_match, "sd_journal_add_match");
                                        lib.Bind(a.seek_tail, "sd_journal_seek_tail");
                                        lib.Bind(a.previous, "sd_journal_previous");
                                        lib.Bind(a.next, "sd_journal_next");
                                        lib.Bind(a.get_data, "sd_journal_get_data");
                                        lib.Bind(a.get_realtime_usec, "sd_journal_get_realtime_usec");
                                        lib.Bind(a.set_data_threshold, "sd_journal_set_data_threshold");
                                        lib.Bind(a.get_fd, "sd_journal_get_fd");
                                        lib.Bind(a.get_events, "sd_journal_get_events");
                                        lib.Bind(a.get_timeout, "sd_journal_get_timeout");
                                        lib.Bind(a.process, "sd_journal_process");
                                      });
}

std::string ErrnoText(int r) { return std::strerror(r < 0 ? -r : r); }

class SdLoginJournal final : public LoginJournal {
 public:
  SdLoginJournal(const SdJournalApi& api, sd_journal* j, int fd) : api_(api), j_(j), fd_(fd) {}
  ~SdLoginJournal() override { api_.close(j_); }

  int fd() const override { return fd_; }
  short events() const override {
    const int e = api_.get_events(j_);
    return static_cast<short>(e > 0 ? e : POLLIN);
  }

  int TimeoutMs() override {
    uint64_t at = 0;
    if (api_.get_timeout(j_, &at) < 0 || at == UINT64_MAX) return -1;
    struct timespec now {};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t now_us = static_cast<uint64_t>(now.tv_sec) * 1'000'000 + static_cast<uint64_t>(now.tv_nsec) / 1000;
    if (at <= now_us) return 0;
    const uint64_t ms = (at - now_us + 999) / 1000;
    return ms > 60'000 ? 60'000 : static_cast<int>(ms);
  }

  Status Read(size_t max_entries, size_t max_bytes, std::vector<LoginInput>* out, bool* more) override {
    *more = false;
    const int p = api_.process(j_);
    if (p < 0) return Status::IoError("journal: sd_journal_process: " + ErrnoText(p));
    api_.set_data_threshold(j_, max_bytes + 64);
    for (size_t n = 0; n < max_entries; ++n) {
      const int r = api_.next(j_);
      if (r < 0) return Status::IoError("journal: sd_journal_next: " + ErrnoText(r));
      if (r == 0) return Status::Ok();
      LoginInput in;
      in.origin = LoginOrigin::kJournal;
      Field("MESSAGE", &in.data);
      if (in.data.size() > max_bytes) in.data.resize(max_bytes);
      Field("SYSLOG_IDENTIFIER", &in.identifier);
      std::string pid;
      if (!Field("SYSLOG_PID", &pid)) Field("_PID", &pid);
      if (!pid.empty() && pid.size() <= 10 && pid.find_first_not_of("0123456789") == std::string::npos)
        in.pid = std::stoll(pid);
      uint64_t usec = 0;
      if (api_.get_realtime_usec(j_, &usec) >= 0) in.ts_ms = static_cast<int64_t>(usec / 1000);
      if (!in.data.empty()) out->push_back(std::move(in));
    }
    *more = true;
    return Status::Ok();
  }

 private:
  // The value of `name` in the current entry ("NAME=value" with the name taken off).
  bool Field(const char* name, std::string* value) {
    const void* data = nullptr;
    size_t len = 0;
    if (api_.get_data(j_, name, &data, &len) < 0 || !data) return false;
    std::string_view s(static_cast<const char*>(data), len);
    const size_t eq = s.find('=');
    if (eq == std::string_view::npos) return false;
    value->assign(s.substr(eq + 1));
    return true;
  }

  const SdJournalApi& api_;
  sd_journal* j_;
  int fd_;
};

}  // namespace

Result<std::unique_ptr<LoginJournal>> OpenLoginJournal(const std::vector<std::string>& identifiers,
                                                       const std::string& directory, bool require_running) {
  if (directory.empty() && require_running && access("/run/systemd/journal/socket", F_OK) != 0)
    return Status::Unavailable("journald does not run here (no /run/systemd/journal/socket)");
  auto api = LoadApi();
  if (!api.ok()) return api.status();
  const SdJournalApi& sd = **api;
  sd_journal* j = nullptr;
  const int r = directory.empty() ? sd.open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)
                                  : sd.open_directory(&j, directory.c_str(), 0);
  if (r < 0 || !j)
    return Status::Unavailable("journal: cannot open " + (directory.empty() ? "the system journal" : directory) + ": " +
                               ErrnoText(r));
  // Matches of one field are alternatives (OR).
  for (const std::string& id : identifiers) {
    const std::string match = "SYSLOG_IDENTIFIER=" + id;
    if (const int m = sd.add_match(j, match.data(), match.size()); m < 0) {
      sd.close(j);
      return Status::Unavailable("journal: bad match " + match + ": " + ErrnoText(m));
    }
  }
  const int fd = sd.get_fd(j);
  if (fd < 0) {
    sd.close(j);
    return Status::Unavailable("journal: no descriptor to wait on: " + ErrnoText(fd));
  }
  // From the end: the last entry now is the one before the first delivered.
  if (const int s = sd.seek_tail(j); s < 0) {
    sd.close(j);
    return Status::Unavailable("journal: cannot seek to its end: " + ErrnoText(s));
  }
  sd.previous(j);
  return std::unique_ptr<LoginJournal>(std::make_unique<SdLoginJournal>(sd, j, fd));
}

}  // namespace vigil
