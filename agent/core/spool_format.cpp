#include "agent/core/spool_format.h"

#include <array>

namespace vigil::spool {
namespace {

constexpr std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected 0x1EDC6F41
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = MakeCrc32cTable();

void PutU32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void PutU64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t GetU32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(i)]);
  return v;
}

uint64_t GetU64(std::string_view b, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(i)]);
  return v;
}

// Record layout (little-endian): marker u32 @0, payload length u32 @4, seq u64 @8,
// CRC-32C u32 @16 over bytes 4..16 and the payload, payload @20.
constexpr size_t kLengthAt = 4;
constexpr size_t kSeqAt = 8;
constexpr size_t kCrcAt = 16;

uint32_t RecordCrc(std::string_view length_and_seq, std::string_view payload) {
  return Crc32c(payload, Crc32c(length_and_seq));
}

constexpr std::string_view kMarkerBytes("VSGR", 4);

}  // namespace

uint32_t Crc32c(std::string_view bytes, uint32_t crc) {
  crc = ~crc;
  for (char ch : bytes) crc = kCrc32cTable[(crc ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::string EncodeFileHeader(uint8_t priority) {
  std::string out(kFileMagic);
  out.push_back(static_cast<char>(priority));
  out.append(kFileHeaderBytes - out.size(), '\0');
  return out;
}

Result<uint8_t> DecodeFileHeader(std::string_view bytes) {
  if (bytes.size() < kFileHeaderBytes)
    return Status::Corruption("segment header: " + std::to_string(bytes.size()) + " bytes, need " +
                              std::to_string(kFileHeaderBytes));
  if (bytes.substr(0, kFileMagic.size()) != kFileMagic)
    return Status::Corruption("segment header: not a spool segment (magic is not VGSPOOL1)");
  const uint8_t priority = static_cast<uint8_t>(bytes[kFileMagic.size()]);
  if (priority > 2) return Status::Corruption("segment header: priority " + std::to_string(priority) + " is not 0-2");
  for (size_t i = kFileMagic.size() + 1; i < kFileHeaderBytes; ++i)
    if (bytes[i] != '\0') return Status::Corruption("segment header: reserved byte " + std::to_string(i) + " is not 0");
  return priority;
}

void AppendRecord(uint64_t seq, std::string_view payload, std::string* out) {
  const size_t start = out->size();
  PutU32(kRecordMarker, out);
  PutU32(static_cast<uint32_t>(payload.size()), out);
  PutU64(seq, out);
  const std::string_view length_and_seq = std::string_view(*out).substr(start + kLengthAt, kCrcAt - kLengthAt);
  const uint32_t crc = RecordCrc(length_and_seq, payload);
  PutU32(crc, out);
  out->append(payload);
}

std::optional<Record> RecordScanner::RecordAt(size_t pos, std::string* why) const {
  const size_t left = body_.size() - pos;
  auto fail = [&](std::string reason) -> std::optional<Record> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (left < kRecordHeaderBytes) return fail("incomplete record header at the end (a write cut short)");
  if (GetU32(body_, pos) != kRecordMarker) return fail("no record marker");
  const uint32_t length = GetU32(body_, pos + kLengthAt);
  if (length > kMaxPayloadBytes)
    return fail("record length " + std::to_string(length) + " is above the limit of " +
                std::to_string(kMaxPayloadBytes));
  if (left - kRecordHeaderBytes < length) return fail("incomplete record at the end (a write cut short)");
  const std::string_view payload = body_.substr(pos + kRecordHeaderBytes, length);
  const uint32_t crc = RecordCrc(body_.substr(pos + kLengthAt, kCrcAt - kLengthAt), payload);
  if (crc != GetU32(body_, pos + kCrcAt)) return fail("checksum mismatch");
  return Record{GetU64(body_, pos + kSeqAt), payload, base_ + pos, kRecordHeaderBytes + length};
}

std::optional<Record> RecordScanner::Next() {
  if (pos_ >= body_.size()) return std::nullopt;
  std::string why;
  if (std::optional<Record> r = RecordAt(pos_, &why)) {
    pos_ += r->size;
    good_end_ = pos_;
    return r;
  }
  // Damage from here: look for the next marker that starts a record passing every check.
  for (size_t at = body_.find(kMarkerBytes, pos_ + 1); at != std::string_view::npos;
       at = body_.find(kMarkerBytes, at + 1)) {
    if (std::optional<Record> r = RecordAt(at, nullptr)) {
      damage_.push_back({base_ + pos_, at - pos_, std::move(why)});
      pos_ = at + r->size;
      good_end_ = pos_;
      return r;
    }
  }
  damage_.push_back({base_ + pos_, body_.size() - pos_, std::move(why)});
  pos_ = body_.size();
  return std::nullopt;
}

}  // namespace vigil::spool
