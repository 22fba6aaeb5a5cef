// files collector: not implemented yet; Start reports Unavailable.
#include "agent/core/collector.h"

namespace vigil::files {
namespace {

class Stub : public Collector {
 public:
  Status Start() override { return Status::Unavailable("the files collector is not implemented yet"); }
  void Stop() override {}
};

std::unique_ptr<Collector> Create(CollectorContext&) { return std::make_unique<Stub>(); }

}  // namespace

extern const CollectorDescriptor kDescriptor = {
    .name = "files",
    .help = "Changes to watched files and directories, with their new sha256.",
    .default_priority = Priority::kMedium,
    .settings = {},
    .factory = &Create,
};

}  // namespace vigil::files
