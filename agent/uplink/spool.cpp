#include "agent/uplink/spool.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "agent/core/spool_format.h"

namespace vigil {
namespace {

constexpr std::string_view kStateFile = "state.json";
constexpr size_t kMinReadWindow = 64 << 10;

std::string SegmentName(size_t priority, uint64_t id) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "p%zu-%016" PRIx64 ".seg", priority, id);
  return buf;
}

// "p<P>-<16 hex>.seg"
bool ParseSegmentName(std::string_view name, uint8_t* priority, uint64_t* id) {
  if (name.size() != 2 + 1 + 16 + 4 || name[0] != 'p' || name[2] != '-' || !name.ends_with(".seg")) return false;
  if (name[1] < '0' || name[1] > '2') return false;
  uint64_t v = 0;
  for (char c : name.substr(3, 16)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  *priority = static_cast<uint8_t>(name[1] - '0');
  *id = v;
  return true;
}

size_t Index(Priority p) { return std::min<size_t>(static_cast<size_t>(p), kPriorityCount - 1); }

}  // namespace

Result<SpoolSync> ParseSpoolSync(std::string_view name) {
  if (name == "always") return SpoolSync::kAlways;
  if (name == "interval") return SpoolSync::kInterval;
  if (name == "never") return SpoolSync::kNever;
  return Status::InvalidArgument("spool sync '" + std::string(name) + "': expected always, interval or never");
}

Result<std::unique_ptr<Spool>> Spool::Open(Env& env, SpoolOptions options) {
  if (options.dir.empty()) return Status::InvalidArgument("spool: no directory");
  // Eviction frees a whole segment: keep segments at most an eighth of the bound.
  options.segment_bytes =
      std::clamp<uint64_t>(options.max_bytes / 8, 16 << 10, std::max<uint64_t>(options.segment_bytes, 16 << 10));
  VIGIL_RETURN_IF_ERROR(env.MakeDirs(options.dir));
  std::unique_ptr<Spool> spool(new Spool(env, std::move(options)));
  VIGIL_RETURN_IF_ERROR(spool->Recover());
  return spool;
}

Spool::~Spool() {
  Status st = Flush();
  if (st.ok()) st = Sync(/*force=*/true);
  if (st.ok()) st = Checkpoint();
  if (!st.ok()) spdlog::error("spool: closing: {}", st.ToString());
}

Status Spool::Recover() {
  auto names = env_.ListDir(options_.dir);
  if (!names.ok()) return names.status();
  struct Found {
    uint64_t id;
    uint8_t priority;
    std::string name;
  };
  std::vector<Found> found;
  for (const std::string& name : *names) {
    uint8_t p = 0;
    uint64_t id = 0;
    if (ParseSegmentName(name, &p, &id)) {
      found.push_back({id, p, name});
    } else if (name.ends_with(".tmp")) {
      (void)env_.Remove(options_.dir + "/" + name);  // a state file write cut short
    } else if (name != kStateFile) {
      spdlog::warn("spool: {}/{}: not a spool file, left alone", options_.dir, name);
    }
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.id < b.id; });
  std::lock_guard lock(mu_);
  for (const Found& f : found) {
    RecoverSegment(f.name, f.priority, f.id);
    next_segment_id_ = std::max(next_segment_id_, f.id + 1);
  }
  LoadStateLocked();
  last_seq_ = std::max(last_seq_, released_last_seq_);
  uint64_t records = 0;
  for (const Queue& q : queues_)
    for (const Segment& s : q.segments) records += s.records;
  if (records > 0)
    spdlog::info("spool: {} records in {} bytes recovered from {}", records, total_bytes_, options_.dir);
  DeleteReleasedLocked();
  return Status::Ok();
}

void Spool::RecoverSegment(const std::string& name, uint8_t priority, uint64_t id) {
  const std::string path = options_.dir + "/" + name;
  auto info = env_.Stat(path);
  auto bytes = info.ok() ? env_.ReadFile(path, info->size) : Result<std::string>(info.status());
  if (!bytes.ok()) {
    NoteErrorLocked(bytes.status().WithContext("spool: recovering"));
    return;
  }
  std::string_view all = *bytes;
  auto damage = [&](size_t offset, size_t n, std::string_view reason) {
    ++stats_.damaged_regions;
    stats_.damaged_bytes += n;
    spdlog::warn("spool: {}: {} bytes at offset {} skipped: {}", path, n, offset, reason);
  };
  auto header = spool::DecodeFileHeader(all);
  if (!header.ok()) {
    damage(0, std::min(all.size(), spool::kFileHeaderBytes), header.status().message());
  } else if (*header != priority) {
    spdlog::warn("spool: {}: header says priority {}, the name {}; the name is taken", path, *header, priority);
  }
  std::string_view body = all.size() > spool::kFileHeaderBytes ? all.substr(spool::kFileHeaderBytes) : "";
  spool::RecordScanner scanner(body, spool::kFileHeaderBytes);
  Segment s;
  s.id = id;
  s.path = path;
  s.size = all.size();
  while (auto r = scanner.Next()) {
    ++s.records;
    s.max_seq = std::max(s.max_seq, r->seq);
  }
  for (size_t i = 0; i < scanner.damage().size(); ++i) {
    const spool::Damage& d = scanner.damage()[i];
    bool tail = scanner.torn_tail() && i + 1 == scanner.damage().size();
    if (tail) ++stats_.torn_tails;
    damage(d.offset, d.bytes, tail ? "torn tail (an append cut short, e.g. by a power loss): " + d.reason : d.reason);
  }
  if (s.records == 0) {
    (void)env_.Remove(path);  // nothing in it to send
    return;
  }
  s.end = scanner.end_of_records();
  s.readable = s.end;
  // Whatever the last run wrote may still sit in the page cache: make it durable before it
  // is sent.
  if (auto f = env_.OpenAppend(path); f.ok()) {
    if (Status st = (*f)->Sync(); !st.ok()) NoteErrorLocked(st);
  }
  last_seq_ = std::max(last_seq_, s.max_seq);
  total_bytes_ += s.size;
  queues_[priority].segments.push_back(std::move(s));
}

void Spool::LoadStateLocked() {
  const std::string path = options_.dir + "/" + std::string(kStateFile);
  auto text = env_.ReadFile(path, 64 << 10);
  if (!text.ok()) {
    if (text.status().code() != Status::Code::kNotFound) NoteErrorLocked(text.status());
    return;
  }
  // {"v":1,"released":[[segment,offset],[..],[..]],"last_seq":N}
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  bool ok = j.is_object() && j.value("v", 0) == 1 && j.contains("released") && j["released"].is_array() &&
            j["released"].size() == kPriorityCount && j.contains("last_seq") && j["last_seq"].is_number_unsigned();
  for (size_t p = 0; ok && p < kPriorityCount; ++p) {
    const Json& r = j["released"][p];
    ok = r.is_array() && r.size() == 2 && r[0].is_number_unsigned() && r[1].is_number_unsigned();
  }
  if (!ok) {
    spdlog::warn("spool: {}: not a state this agent wrote; every record in the spool is sent again "
                 "(the hub keeps one copy of each)", path);
    return;
  }
  for (size_t p = 0; p < kPriorityCount; ++p)
    queues_[p].released = {j["released"][p][0].get<uint64_t>(), j["released"][p][1].get<uint64_t>()};
  released_last_seq_ = j["last_seq"].get<uint64_t>();
}

std::string Spool::StateJsonLocked() const {
  Json released = Json::array();
  for (const Queue& q : queues_) released.push_back({q.released.segment, q.released.offset});
  return Json{{"v", 1}, {"released", released}, {"last_seq", released_last_seq_}}.dump() + "\n";
}

void Spool::NoteErrorLocked(const Status& st) {
  if (stats_.last_error != st.message()) spdlog::error("spool: {}", st.ToString());
  stats_.last_error = std::string(st.message());
}

Status Spool::Write(const Event& e) {
  const size_t p = Index(e.priority);
  const std::string payload = EventToJsonLine(e);
  std::lock_guard lock(mu_);
  const uint64_t need = spool::kRecordHeaderBytes + payload.size();
  if (payload.size() > spool::kMaxPayloadBytes || need + spool::kFileHeaderBytes > options_.max_bytes) {
    ++stats_.too_large;
    return Status::InvalidArgument("spool: event seq " + std::to_string(e.seq) + " of " +
                                   std::to_string(payload.size()) + " bytes is over the record limit; dropped");
  }
  Queue& q = queues_[p];
  bool roll = q.segments.empty() || !q.segments.back().open ||
              q.segments.back().size + q.buffer.size() + need > options_.segment_bytes;
  MakeRoomLocked(need + (roll ? spool::kFileHeaderBytes : 0));
  roll = roll || q.segments.empty() || !q.segments.back().open;  // eviction may have taken it
  if (roll) {
    if (Status st = WriteLocked(q); !st.ok()) return st;
    if (!q.segments.empty()) {
      Segment& old = q.segments.back();
      old.open = false;
      if (options_.sync == SpoolSync::kNever || old.readable >= old.end) old.file.reset();
    }
    if (Status st = OpenSegmentLocked(p); !st.ok()) {
      NoteErrorLocked(st);
      ++stats_.write_errors;
      return st;
    }
  }
  Segment& s = q.segments.back();
  spool::AppendRecord(e.seq, payload, &q.buffer);
  total_bytes_ += need;
  ++q.buffered_records;
  ++s.records;
  s.max_seq = std::max(s.max_seq, e.seq);
  last_seq_ = std::max(last_seq_, e.seq);
  ++stats_.written;
  return Status::Ok();
}

Status Spool::OpenSegmentLocked(size_t p) {
  Segment s;
  s.id = next_segment_id_++;
  s.path = options_.dir + "/" + SegmentName(p, s.id);
  auto f = env_.OpenAppend(s.path);
  if (!f.ok()) return f.status();
  s.file = std::move(*f);
  s.open = true;
  Queue& q = queues_[p];
  q.buffer += spool::EncodeFileHeader(static_cast<uint8_t>(p));
  total_bytes_ += spool::kFileHeaderBytes;
  dir_dirty_ = true;
  q.segments.push_back(std::move(s));
  return Status::Ok();
}

Status Spool::WriteLocked(Queue& q) {
  if (q.buffer.empty()) return Status::Ok();
  Segment& s = q.segments.back();
  Status st = s.file->Append(q.buffer);
  if (!st.ok()) {
    // The segment may now end in part of a record: close it, and count what is lost.
    NoteErrorLocked(st);
    stats_.write_errors += q.buffered_records;
    s.records -= q.buffered_records;
    s.size = s.file->size();
    total_bytes_ -= q.buffer.size();
    total_bytes_ += s.size - s.end;
    s.open = false;
  } else {
    s.size += q.buffer.size();
    s.end = s.size;
    if (options_.sync == SpoolSync::kNever) s.readable = s.end;
  }
  q.buffer.clear();
  q.buffered_records = 0;
  return st;
}

Status Spool::Flush() {
  Status first;
  {
    std::lock_guard lock(mu_);
    for (Queue& q : queues_) {
      Status st = WriteLocked(q);
      if (first.ok()) first = st;
    }
  }
  if (options_.sync == SpoolSync::kAlways) {
    Status st = Sync(/*force=*/true);
    if (first.ok()) first = st;
  }
  return first;
}

Status Spool::Sync(bool force) {
  struct Pending {
    size_t priority;
    uint64_t id;
    uint64_t end;
    std::shared_ptr<AppendFile> file;
  };
  std::vector<Pending> pending;
  bool dir = false;
  {
    std::lock_guard lock(mu_);
    if (sync_running_ || options_.sync == SpoolSync::kNever) return Status::Ok();
    const int64_t now = env_.clock().MonotonicMs();
    if (!force && now - last_sync_ms_ < options_.sync_interval_ms) return Status::Ok();
    for (size_t p = 0; p < kPriorityCount; ++p)
      for (const Segment& s : queues_[p].segments)
        if (s.file && s.readable < s.end) pending.push_back({p, s.id, s.end, s.file});
    if (pending.empty()) return Status::Ok();
    last_sync_ms_ = now;
    sync_running_ = true;
    dir = std::exchange(dir_dirty_, false);
  }
  Status first;
  for (const Pending& w : pending) {
    Status st = w.file->Sync();
    if (first.ok()) first = st;
  }
  if (dir) {
    Status st = env_.SyncDir(options_.dir);
    if (first.ok()) first = st;
  }
  std::lock_guard lock(mu_);
  sync_running_ = false;
  ++stats_.syncs;
  if (!first.ok()) {
    // The records are sent all the same: holding them back would not make them durable.
    ++stats_.sync_errors;
    NoteErrorLocked(first);
  }
  for (const Pending& w : pending) {
    for (Segment& s : queues_[w.priority].segments) {
      if (s.id != w.id) continue;
      s.readable = std::max(s.readable, w.end);
      if (!s.open && s.readable >= s.end) s.file.reset();
    }
  }
  return first;
}

Status Spool::Read(Priority priority, SpoolPosition* cursor, size_t max_bytes, std::vector<SpoolRecord>* out) {
  const size_t p = Index(priority);
  size_t taken = 0;
  while (taken < max_bytes || taken == 0) {
    std::string path;
    uint64_t offset = 0, readable = 0, id = 0;
    {
      std::lock_guard lock(mu_);
      const Queue& q = queues_[p];
      auto it = std::find_if(q.segments.begin(), q.segments.end(),
                             [&](const Segment& s) { return s.id >= cursor->segment; });
      if (it == q.segments.end()) return Status::Ok();
      if (it->id != cursor->segment) *cursor = {it->id, 0};
      cursor->offset = std::max<uint64_t>(cursor->offset, spool::kFileHeaderBytes);
      if (cursor->offset >= it->readable) {
        // Nothing more here: go on to the next segment once this one is finished.
        if (it->open || it->readable < it->end || std::next(it) == q.segments.end()) return Status::Ok();
        *cursor = {std::next(it)->id, 0};
        continue;
      }
      path = it->path;
      offset = cursor->offset;
      readable = it->readable;
      id = it->id;
    }
    size_t window = static_cast<size_t>(std::min<uint64_t>(readable - offset, std::max(max_bytes, kMinReadWindow)));
    for (;;) {
      auto bytes = env_.ReadFileAt(path, offset, window);
      if (!bytes.ok()) {
        if (bytes.status().code() == Status::Code::kNotFound) {  // evicted meanwhile
          *cursor = {id + 1, 0};
          break;
        }
        return bytes.status();
      }
      spool::RecordScanner scanner(*bytes, offset);
      size_t found = 0;
      while (auto r = scanner.Next()) {
        ++found;
        out->push_back({r->seq, std::string(r->payload), {id, r->offset + r->size}});
        *cursor = out->back().end;
        taken += r->payload.size();
        if (taken >= max_bytes) return Status::Ok();
      }
      const bool to_end = offset + window >= readable;
      if (found > 0) {
        // Damage between the last record and the readable end (recovered segments): skip it.
        if (to_end && scanner.end_of_records() < readable) *cursor = {id, readable};
        break;
      }
      if (to_end || window > kMinReadWindow) {
        // No whole record here (damage, only after recovery or from the storage): skip it.
        const spool::Damage* d = scanner.damage().empty() ? nullptr : &scanner.damage().front();
        *cursor = {id, to_end || !d ? readable : d->offset + d->bytes};
        spdlog::warn("spool: {}: no whole record from offset {}: skipped", path, offset);
        break;
      }
      // The next record is longer than the window: read it whole.
      window = static_cast<size_t>(
          std::min<uint64_t>(readable - offset, spool::kMaxPayloadBytes + spool::kRecordHeaderBytes));
    }
  }
  return Status::Ok();
}

bool Spool::HasReadable(Priority priority, SpoolPosition from) const {
  std::lock_guard lock(mu_);
  for (const Segment& s : queues_[Index(priority)].segments) {
    if (s.id < from.segment) continue;
    uint64_t start = s.id == from.segment ? std::max<uint64_t>(from.offset, spool::kFileHeaderBytes)
                                          : spool::kFileHeaderBytes;
    if (s.readable > start) return true;
  }
  return false;
}

SpoolPosition Spool::released(Priority p) const {
  std::lock_guard lock(mu_);
  return queues_[Index(p)].released;
}

void Spool::Release(Priority p, SpoolPosition end, uint64_t max_seq) {
  std::lock_guard lock(mu_);
  Queue& q = queues_[Index(p)];
  if (end > q.released) q.released = end;
  released_last_seq_ = std::max(released_last_seq_, max_seq);
  state_dirty_ = true;
}

Status Spool::Checkpoint() {
  std::string state;
  {
    std::lock_guard lock(mu_);
    if (!state_dirty_) return Status::Ok();
    state = StateJsonLocked();
    state_dirty_ = false;
  }
  Status st = env_.WriteFileAtomic(options_.dir + "/" + std::string(kStateFile), state);
  std::lock_guard lock(mu_);
  if (!st.ok()) {
    state_dirty_ = true;
    NoteErrorLocked(st);
    return st;
  }
  DeleteReleasedLocked();
  return Status::Ok();
}

void Spool::DeleteReleasedLocked() {
  for (Queue& q : queues_) {
    while (!q.segments.empty()) {
      Segment& s = q.segments.front();
      if (s.open || q.released < SpoolPosition{s.id, s.end} || s.readable < s.end) break;
      if (Status st = env_.Remove(s.path); !st.ok() && st.code() != Status::Code::kNotFound) {
        NoteErrorLocked(st);
        break;
      }
      total_bytes_ -= s.size;
      q.segments.pop_front();
    }
  }
}

void Spool::MakeRoomLocked(uint64_t need) {
  while (total_bytes_ + need > options_.max_bytes) {
    size_t victim = kPriorityCount;
    for (size_t p = kPriorityCount; p-- > 0;) {
      if (!queues_[p].segments.empty()) {
        victim = p;
        break;
      }
    }
    if (victim == kPriorityCount) return;
    EvictLocked(victim);
  }
}

uint64_t Spool::UnreleasedRecordsLocked(const Segment& s, const Queue& q) {
  if (q.released.segment < s.id || q.released.offset <= spool::kFileHeaderBytes) {
    return q.released.segment > s.id ? 0 : s.records;
  }
  if (q.released.segment > s.id) return 0;
  // Released part-way through this segment: count the records before that point.
  auto bytes = env_.ReadFileAt(s.path, spool::kFileHeaderBytes, q.released.offset - spool::kFileHeaderBytes);
  if (!bytes.ok()) return s.records;
  spool::RecordScanner scanner(*bytes, spool::kFileHeaderBytes);
  uint64_t before = 0;
  while (scanner.Next()) ++before;
  return s.records - std::min(before, s.records);
}

void Spool::EvictLocked(size_t p) {
  Queue& q = queues_[p];
  Segment& s = q.segments.front();
  const uint64_t lost = UnreleasedRecordsLocked(s, q);
  stats_.evicted[p] += lost;
  // The state names the highest number evicted before the file goes: after a crash, the
  // sequence counter must not hand out again a number that may have been sent.
  released_last_seq_ = std::max(released_last_seq_, s.max_seq);
  if (Status st = env_.WriteFileAtomic(options_.dir + "/" + std::string(kStateFile), StateJsonLocked()); !st.ok())
    NoteErrorLocked(st);
  if (Status st = env_.Remove(s.path); !st.ok() && st.code() != Status::Code::kNotFound) NoteErrorLocked(st);
  total_bytes_ -= s.size;
  if (s.open) {
    total_bytes_ -= q.buffer.size();
    q.buffer.clear();
    q.buffered_records = 0;
  }
  if (lost > 0 && (evictions_logged_++ % 100) == 0) {
    spdlog::warn("spool: full ({} bytes): {} unsent {} events deleted to make room (counted in agent_stats)",
                 options_.max_bytes, lost, PriorityName(static_cast<Priority>(p)));
  }
  q.segments.pop_front();
}

uint64_t Spool::last_seq() const {
  std::lock_guard lock(mu_);
  return last_seq_;
}

SpoolStats Spool::stats() const {
  std::lock_guard lock(mu_);
  SpoolStats s = stats_;
  s.bytes = total_bytes_;
  for (const Queue& q : queues_) s.segments += q.segments.size();
  return s;
}

Json Spool::StatsJson() const {
  SpoolStats s = stats();
  return Json{{"bytes", s.bytes},
              {"max_bytes", options_.max_bytes},
              {"segments", s.segments},
              {"written", s.written},
              {"evicted", {{"high", s.evicted[0]}, {"medium", s.evicted[1]}, {"low", s.evicted[2]}}},
              {"too_large", s.too_large},
              {"damaged_regions", s.damaged_regions},
              {"damaged_bytes", s.damaged_bytes},
              {"torn_tails", s.torn_tails},
              {"write_errors", s.write_errors},
              {"syncs", s.syncs},
              {"sync_errors", s.sync_errors}};
}

}  // namespace vigil
