#pragma once
/// What network a session's sandbox gets (docs/adr/0011-sandbox-egress.md):
/// - environment `networking: {type: "unrestricted"}` -> the host network (sandbox::Network::kAll);
/// - `{type: "limited", allowed_hosts, allow_mcp_servers, allow_package_managers}` -> no network
///   of its own, only the egress proxy (Network::kProxy), which lets out exactly
///   allowed_hosts, plus the hosts of the agent's `mcp_servers` URLs when allow_mcp_servers,
///   plus egress::kPackageRegistryHosts when allow_package_managers (when that adds up to no
///   host at all: Network::kNone, as nothing may go out anyway);
/// - anything else (no networking, unknown type, unreadable config) -> none (Network::kNone).

#include "basalt/audit/audit_sink.h"
#include "basalt/core/error.h"
#include "basalt/egress/allow_list.h"
#include "basalt/egress/egress_proxy.h"
#include "basalt/sandbox/sandbox.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::agent_runtime {

struct SessionNetwork {
  sandbox::Network mode = sandbox::Network::kNone;
  egress::AllowList allow;  ///< for kProxy
  /// allowed_hosts entries that were skipped (invalid; the agents API refuses them today, but
  /// older stored environments may hold some). Skipping only ever narrows access.
  std::vector<std::string> skipped;
};

/// From the stored environment body and the agent version body (both JSON text).
SessionNetwork sessionNetwork(std::string_view environment_body, std::string_view agent_body);

/// The host of an http:// or https:// URL, lower-cased, without port or brackets; empty when
/// the URL has none.
std::string urlHost(std::string_view url);

/// The proxy every session of this process shares (one thread), made on first use; it ends when
/// the last Listener that holds it goes.
std::shared_ptr<egress::EgressProxy> sharedEgressProxy();

/// Where a session's egress decisions are recorded. With a sink, every decision becomes an
/// `EgressConnect` audit record (base + method, host, port, status; error EgressDenied or
/// EgressFailed with the reason), and an allowed connection opens only once its record is
/// durable (fail closed: 503). Without one they are only logged.
struct EgressAudit {
  audit::AuditSink* sink = nullptr;
  audit::AuditEvent base;  ///< identity, region, requestParameters shared by every record
};

/// Starts the proxy listener for a sandbox opened with Network::kProxy: on the sandbox's
/// egress socket path, owned by the sandbox uid, allowing `allow`.
Result<std::unique_ptr<egress::Listener>> openSessionEgress(const sandbox::Sandbox& sandbox,
                                                            const egress::AllowList& allow,
                                                            EgressAudit audit = {});

}  // namespace basalt::agent_runtime
