// listening_ports collector: not implemented yet; Start reports Unavailable.
#include "agent/core/collector.h"

namespace vigil::listening_ports {
namespace {

class Stub : public Collector {
 public:
  Status Start() override { return Status::Unavailable("the listening_ports collector is not implemented yet"); }
  void Stop() override {}
};

std::unique_ptr<Collector> Create(CollectorContext&) { return std::make_unique<Stub>(); }

}  // namespace

extern const CollectorDescriptor kDescriptor = {
    .name = "listening_ports",
    .help = "Listening TCP and bound UDP sockets with the owning process, at start and on change.",
    .default_priority = Priority::kMedium,
    .settings = {},
    .factory = &Create,
};

}  // namespace vigil::listening_ports
