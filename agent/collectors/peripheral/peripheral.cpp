// peripheral collector: not implemented yet; Start reports Unavailable.
#include "agent/core/collector.h"

namespace vigil::peripheral {
namespace {

class Stub : public Collector {
 public:
  Status Start() override { return Status::Unavailable("the peripheral collector is not implemented yet"); }
  void Stop() override {}
};

std::unique_ptr<Collector> Create(CollectorContext&) { return std::make_unique<Stub>(); }

}  // namespace

extern const CollectorDescriptor kDescriptor = {
    .name = "peripheral",
    .help = "Devices added and removed: USB, network interfaces.",
    .default_priority = Priority::kMedium,
    .settings = {},
    .factory = &Create,
};

}  // namespace vigil::peripheral
