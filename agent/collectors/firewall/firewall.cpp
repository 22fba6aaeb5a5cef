// firewall collector: not implemented yet; Start reports Unavailable.
#include "agent/core/collector.h"

namespace vigil::firewall {
namespace {

class Stub : public Collector {
 public:
  Status Start() override { return Status::Unavailable("the firewall collector is not implemented yet"); }
  void Stop() override {}
};

std::unique_ptr<Collector> Create(CollectorContext&) { return std::make_unique<Stub>(); }

}  // namespace

extern const CollectorDescriptor kDescriptor = {
    .name = "firewall",
    .help = "nftables and iptables rulesets summarised, and changes to them.",
    .default_priority = Priority::kMedium,
    .settings = {},
    .factory = &Create,
};

}  // namespace vigil::firewall
