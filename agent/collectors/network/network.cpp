// network collector: not implemented yet; Start reports Unavailable.
#include "agent/core/collector.h"

namespace vigil::network {
namespace {

class Stub : public Collector {
 public:
  Status Start() override { return Status::Unavailable("the network collector is not implemented yet"); }
  void Stop() override {}
};

std::unique_ptr<Collector> Create(CollectorContext&) { return std::make_unique<Stub>(); }

}  // namespace

extern const CollectorDescriptor kDescriptor = {
    .name = "network",
    .help = "Connections made and accepted per process, with bytes where known.",
    .default_priority = Priority::kMedium,
    .settings = {},
    .factory = &Create,
};

}  // namespace vigil::network
