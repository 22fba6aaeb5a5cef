#include "hub/ingest/inbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/core/spool_format.h"
#include "spdlog/spdlog.h"

namespace vigil::hub {
namespace {

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(Errno("write", path));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(Errno("open", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string Inbox::SegmentPath(uint64_t id) const { return dir_ + "/inbox-" + std::to_string(id) + ".log"; }

Result<std::unique_ptr<Inbox>> Inbox::Open(std::string dir, Options options) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Status::IoError(Errno("mkdir", dir));
  std::unique_ptr<Inbox> inbox(new Inbox(std::move(dir), options));
  if (Status s = inbox->Recover(); !s.ok()) return s;
  if (Status s = inbox->OpenNewSegment(); !s.ok()) return s;
  return inbox;
}

Inbox::~Inbox() {
  if (fd_ >= 0) ::close(fd_);
}

Status Inbox::Recover() {
  // The released mark.
  if (auto text = ReadFile(dir_ + "/released"); text.ok()) {
    try {
      released_ = std::stoull(*text);
    } catch (const std::exception&) {
      spdlog::warn("inbox {}/released: not a number; every message in the inbox is replayed", dir_);
      released_ = 0;
    }
  }
  // The segments, oldest first.
  std::vector<uint64_t> ids;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      unsigned long long id = 0;
      char tail[8] = {};
      if (std::sscanf(e->d_name, "inbox-%llu.%4s", &id, tail) == 2 && std::string_view(tail) == "log")
        ids.push_back(id);
    }
    ::closedir(d);
  } else {
    return Status::IoError(Errno("opendir", dir_));
  }
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) {
    std::string path = SegmentPath(id);
    auto bytes = ReadFile(path);
    if (!bytes.ok()) return bytes.status();
    Segment seg{id, 0};
    if (bytes->size() < spool::kFileHeaderBytes || !spool::DecodeFileHeader(*bytes).ok()) {
      spdlog::warn("inbox {}: not an inbox segment; left alone", path);
      continue;
    }
    std::string_view body = std::string_view(*bytes).substr(spool::kFileHeaderBytes);
    spool::RecordScanner scanner(body, spool::kFileHeaderBytes);
    while (auto r = scanner.Next()) {
      seg.last_number = std::max(seg.last_number, r->seq);
      next_number_ = std::max(next_number_, r->seq + 1);
      if (r->seq <= released_) continue;
      std::string_view p = r->payload;
      if (p.size() < 2) {
        ++damaged_;
        continue;
      }
      size_t topic_len = static_cast<uint8_t>(p[0]) | (static_cast<size_t>(static_cast<uint8_t>(p[1])) << 8);
      if (p.size() < 2 + topic_len) {
        ++damaged_;
        continue;
      }
      unreleased_.push_back(Message{r->seq, std::string(p.substr(2, topic_len)), std::string(p.substr(2 + topic_len))});
    }
    for (const auto& d : scanner.damage()) {
      ++damaged_;
      spdlog::warn("inbox {}: {} bytes at offset {} skipped: {}", path, d.bytes, d.offset, d.reason);
    }
    segments_.push_back(seg);
  }
  next_number_ = std::max(next_number_, released_ + 1);
  return Status::Ok();
}

Status Inbox::OpenNewSegment() {
  uint64_t id = segments_.empty() ? 1 : segments_.back().id + 1;
  std::string path = SegmentPath(id);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError(Errno("open", path));
  std::string header = spool::EncodeFileHeader(0);
  if (Status s = WriteAll(fd, header, path); !s.ok()) {
    ::close(fd);
    return s;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segment_size_ = header.size();
  segments_.push_back(Segment{id, 0});
  return Status::Ok();
}

std::vector<Inbox::Message> Inbox::TakeUnreleased() {
  std::lock_guard lock(mutex_);
  return std::move(unreleased_);
}

Result<uint64_t> Inbox::Append(std::string_view topic, std::string_view payload) {
  if (topic.size() > kMaxTopicBytes) return Status::InvalidArgument("inbox: topic over 512 bytes");
  if (payload.size() > kMaxMessageBytes) return Status::InvalidArgument("inbox: message over the inbox's limit");
  std::string payload_bytes;
  payload_bytes.reserve(2 + topic.size() + payload.size());
  payload_bytes.push_back(static_cast<char>(topic.size() & 0xff));
  payload_bytes.push_back(static_cast<char>(topic.size() >> 8));
  payload_bytes.append(topic);
  payload_bytes.append(payload);
  std::lock_guard lock(mutex_);
  uint64_t number = next_number_;
  std::string record;
  spool::AppendRecord(number, payload_bytes, &record);
  if (segment_size_ + record.size() > options_.segment_bytes && segments_.back().last_number != 0) {
    if (Status s = OpenNewSegment(); !s.ok()) return s;
  }
  if (Status s = WriteAll(fd_, record, SegmentPath(segments_.back().id)); !s.ok()) return s;
  if (options_.sync && ::fdatasync(fd_) != 0)
    return Status::IoError(Errno("fdatasync", SegmentPath(segments_.back().id)));
  ++next_number_;
  segment_size_ += record.size();
  segments_.back().last_number = number;
  return number;
}

Status Inbox::Release(uint64_t number) {
  std::lock_guard lock(mutex_);
  if (number <= released_) return Status::Ok();
  released_ = number;
  std::string path = dir_ + "/released";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError(Errno("open", tmp));
  std::string text = std::to_string(number) + "\n";
  Status s = WriteAll(fd, text, tmp);
  ::close(fd);
  if (!s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::IoError(Errno("rename", tmp));
  // Closed segments wholly released go.
  while (segments_.size() > 1 && segments_.front().last_number <= released_) {
    ::unlink(SegmentPath(segments_.front().id).c_str());
    segments_.erase(segments_.begin());
  }
  return Status::Ok();
}

}  // namespace vigil::hub
