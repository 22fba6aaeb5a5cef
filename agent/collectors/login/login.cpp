// login collector: not implemented yet; Start reports Unavailable.
#include "agent/core/collector.h"

namespace vigil::login {
namespace {

class Stub : public Collector {
 public:
  Status Start() override { return Status::Unavailable("the login collector is not implemented yet"); }
  void Stop() override {}
};

std::unique_ptr<Collector> Create(CollectorContext&) { return std::make_unique<Stub>(); }

}  // namespace

extern const CollectorDescriptor kDescriptor = {
    .name = "login",
    .help = "Logins: success, failure and logout.",
    .default_priority = Priority::kMedium,
    .settings = {},
    .factory = &Create,
};

}  // namespace vigil::login
