#pragma once
/// What every provider adapter does the same way around an upstream call: its deadline and how
/// a failure is counted and logged. One place, so the adapters differ only in their wire format.

#include "basalt/core/error.h"
#include "basalt/providers/http/http_client.h"
#include "basalt/providers/provider.h"

#include <string_view>

namespace basalt::providers {

/// The call's wall-clock deadline: now + options.timeout (600 s when the route set none).
http::Deadline callDeadline(const CallOptions& options);

/// Counts `e` in the upstream-error metrics and logs it, then returns it. An upstream that
/// rejected the request itself (400/404/413/422) is the client's problem and logs at debug; any
/// other failure is a warning naming the provider and host. A cancellation (the client went
/// away) is neither counted nor logged. Never logs request content or credentials.
Error reportUpstreamFailure(Error e, std::string_view provider, std::string_view host_port,
                            const CallOptions& options);

}  // namespace basalt::providers
