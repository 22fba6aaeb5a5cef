// A build without journal support (VIGIL_WITH_JOURNAL=OFF); see login_journal.h.
#include "agent/platform/linux/login_journal.h"

namespace vigil {

Result<std::unique_ptr<LoginJournal>> OpenLoginJournal(const std::vector<std::string>&, const std::string&, bool) {
  return Status::Unavailable("this agent was built without journal support (VIGIL_WITH_JOURNAL=OFF)");
}

}  // namespace vigil
