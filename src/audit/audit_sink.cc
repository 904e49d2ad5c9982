#include "basalt/audit/audit_sink.h"

#include <memory>

namespace basalt::audit {

std::future<Result<std::uint64_t>> appendAndWait(AuditSink& sink, AuditEvent event) {
  auto promise = std::make_shared<std::promise<Result<std::uint64_t>>>();
  std::future<Result<std::uint64_t>> done = promise->get_future();
  sink.append(std::move(event),
              [promise](Result<std::uint64_t> r) { promise->set_value(std::move(r)); });
  return done;
}

}  // namespace basalt::audit
