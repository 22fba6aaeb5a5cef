// The messages devices send the hub through the broker, as the hub reads them. Everything here
// trusts nothing in the message and never throws; a rejected message is rejected whole, with a
// reason (one of the kReject* names, for counting) and a message saying what and where.
//
// Topics (agent/uplink/README.md):
//   vigil/v1/<device>/events    batches of events (agent/core/batch_format.md)
//   vigil/v1/<device>/status    {"state":"online","ts":...,"agent_version":"..."} or {"state":"offline"}
//   vigil/v1/<device>/reported  the outcome of the last desired configuration (stored as is)
//   vigil/v1/<device>/config    desired configuration: written by the hub, never read from devices
//
// Identity: the broker authenticates each device by its certificate and its ACL lets a device
// publish only under vigil/v1/<its id>/ (hub/enroll/README.md). So the <device> of the topic is
// the authenticated identity, and the hub requires every event of a batch (and the batch) to
// name that same device.
//
// Pure functions of their input: any thread may call them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "agent/core/status.h"
#include "hub/store/store.h"

namespace vigil::schema {
class Schema;
}

namespace vigil::hub {

enum class TopicKind { kEvents, kStatus, kReported, kConfig };

struct Topic {
  std::string device;
  TopicKind kind = TopicKind::kEvents;
};

// "vigil/v1/<device>/<kind>"; the device id must be valid (1-64 of A-Z a-z 0-9 . _ -).
Result<Topic> ParseTopic(std::string_view topic);
std::string TopicFor(std::string_view device, TopicKind kind);

struct IngestLimits {
  // The largest message taken (compressed size, as on the wire).
  size_t max_message_bytes = 1024 * 1024 - 1024;
  // The most JSON one events message may expand to (the decompression bound).
  size_t max_raw_bytes = 8 * 1024 * 1024;
};

// Why a message was refused: the names counted in the hub's stats.
inline constexpr std::string_view kRejectTopic = "bad_topic";         // not a topic above, or a bad device id
inline constexpr std::string_view kRejectTooLarge = "too_large";      // over max_message_bytes
inline constexpr std::string_view kRejectDecode = "bad_batch";        // DecodeBatch refused it (incl. bombs)
inline constexpr std::string_view kRejectIdentity = "wrong_device";   // the batch or an event names another device
inline constexpr std::string_view kRejectSchema = "bad_event";        // an event fails the event schema
inline constexpr std::string_view kRejectStatus = "bad_status";       // a status or reported message that is not valid
inline constexpr std::string_view kRejectRevoked = "revoked_device";  // a device whose certificate was revoked

struct Rejection {
  std::string_view reason;  // one of the kReject* names
  std::string message;      // what was wrong, for the log
};

// An events message: decoded (DecodeBatch within `limits`), every event checked against the
// event schema and for its device, then turned into rows (the event's JSON re-serialised
// compactly, content unchanged). On any problem, the whole batch is refused.
struct DecodedEvents {
  BatchRows rows;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  size_t raw_bytes = 0;
};
std::variant<DecodedEvents, Rejection> DecodeEventsMessage(std::string_view device, std::string_view payload,
                                                           const IngestLimits& limits, const schema::Schema& schema);

struct StatusMessage {
  DeviceState state = DeviceState::kOnline;  // kOnline or kOffline
  std::string agent_version;                 // "" when not given
};
Result<StatusMessage> ParseStatusMessage(std::string_view payload);

// A reported-configuration document: a JSON object (at most 1 MiB).
Result<nlohmann::json> ParseReportedMessage(std::string_view payload);

}  // namespace vigil::hub
