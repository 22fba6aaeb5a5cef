// local_users collector: not implemented yet; Start reports Unavailable.
#include "agent/core/collector.h"

namespace vigil::local_users {
namespace {

class Stub : public Collector {
 public:
  Status Start() override { return Status::Unavailable("the local_users collector is not implemented yet"); }
  void Stop() override {}
};

std::unique_ptr<Collector> Create(CollectorContext&) { return std::make_unique<Stub>(); }

}  // namespace

extern const CollectorDescriptor kDescriptor = {
    .name = "local_users",
    .help = "Local users and groups, and changes to them.",
    .default_priority = Priority::kMedium,
    .settings = {},
    .factory = &Create,
};

}  // namespace vigil::local_users
