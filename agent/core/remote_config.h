// Remote configuration: the hub's desired configuration for a device, checked whole and
// merged with the device's own file.
//
// The desired document (payload of vigil/v1/<device>/config, retained, JSON):
//   {"version": "42", "config": { <the same sections and keys as the agent's YAML file> }}
// `version` is a string or a non-negative integer chosen by the hub; it is echoed back in the
// reported document, and a document whose version was already handled is ignored (the broker
// delivers the retained one again on every connection).
//
// Rules:
//   - The whole document is validated; if any field is invalid, nothing is applied and every
//     invalid field is reported with why.
//   - Keys the local file (or --set) sets are pinned: the local value wins, and the key is
//     reported as pinned. Remote configuration changes only what the device owner left open.
//   - Some keys are local only, because a wrong value would cut the device off or move its
//     identity: agent.device_id, agent.state_dir, every output.*, uplink.* and spool.* key.
//     A document that sets one is invalid.
//   - Keys the document does not name take their defaults (not the previous remote values):
//     the document is the whole desired state.
//
// Reported document (vigil/v1/<device>/reported, retained):
//   {"version":"42","applied":true,"ts":...,"pinned":["process.mode"],"config":{...}}
//   {"version":"43","applied":false,"ts":...,"invalid":[{"key":"process.mode","error":"..."}]}
// `config` is the desired document's config as applied (pinned keys left out).
//
// Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/core/event.h"
#include "agent/core/settings.h"

namespace vigil {

struct DesiredConfig {
  std::string version;
  Json config = Json::object();
};

// Parses the payload. Errors say which field is missing or of the wrong type.
Result<DesiredConfig> ParseDesiredConfig(std::string_view payload);

bool IsLocalOnlyKey(std::string_view full_key);

struct InvalidField {
  std::string key;  // "section.key", or "" when the error is not about one key
  std::string error;
};

struct MergedConfig {
  bool ok = false;
  Config config;                      // when ok: local pins over the desired document
  std::vector<InvalidField> invalid;  // when not ok
  std::vector<std::string> pinned;    // keys the document sets that the local config pins
};

// Validates `desired` and merges it under `local` (the file plus --set overrides).
MergedConfig MergeRemoteConfig(const ConfigSchema& schema, const Config& local, const DesiredConfig& desired);

// The reported document for a merge result (see above).
Json ReportedConfig(const DesiredConfig& desired, const MergedConfig& merged, int64_t now_ms);

}  // namespace vigil
