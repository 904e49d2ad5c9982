#include "basalt/agent_runtime/session_network.h"

#include "basalt/core/ids.h"

#include "basalt/core/log.h"
#include "json_fields.h"

#include <boost/json.hpp>

#include <mutex>

namespace basalt::agent_runtime {
namespace {

using detail::parseObject;

namespace json = boost::json;

const json::object* objectAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

bool flag(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

}  // namespace

std::string urlHost(std::string_view url) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') == std::string_view::npos ? 0 : host.find(']') - 1);
  } else if (std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string out(host);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

SessionNetwork sessionNetwork(std::string_view environment_body, std::string_view agent_body) {
  SessionNetwork out;
  const json::object env = parseObject(environment_body);
  const json::object* config = objectAt(env, "config");
  const json::object* net = config != nullptr ? objectAt(*config, "networking") : nullptr;
  if (net == nullptr) return out;
  const json::value* type = net->if_contains("type");
  if (type == nullptr || !type->is_string()) return out;
  if (type->as_string() == "unrestricted") {
    out.mode = sandbox::Network::kAll;
    return out;
  }
  if (type->as_string() != "limited") return out;

  std::vector<std::string> hosts;
  auto add = [&](std::string host) {
    if (!egress::checkAllowEntry(host).empty()) {
      out.skipped.push_back(std::move(host));
    } else if (hosts.size() < egress::kMaxAllowListEntries) {
      hosts.push_back(std::move(host));
    }
  };
  if (const json::value* list = net->if_contains("allowed_hosts"); list && list->is_array()) {
    for (const json::value& h : list->as_array()) {
      if (h.is_string()) add(std::string(h.as_string()));
    }
  }
  if (flag(*net, "allow_mcp_servers")) {
    const json::object agent = parseObject(agent_body);
    if (const json::value* servers = agent.if_contains("mcp_servers");
        servers && servers->is_array()) {
      for (const json::value& s : servers->as_array()) {
        const json::value* url = s.is_object() ? s.as_object().if_contains("url") : nullptr;
        if (url != nullptr && url->is_string()) add(urlHost(url->as_string()));
      }
    }
  }
  if (flag(*net, "allow_package_managers")) {
    for (std::string_view h : egress::kPackageRegistryHosts) add(std::string(h));
  }
  Result<egress::AllowList> allow = egress::AllowList::parse(hosts);
  if (!allow || allow->empty()) return out;  // nothing may go out: no proxy, no network
  out.mode = sandbox::Network::kProxy;
  out.allow = std::move(*allow);
  return out;
}

std::shared_ptr<egress::EgressProxy> sharedEgressProxy() {
  static std::mutex mu;
  static std::weak_ptr<egress::EgressProxy> current;
  std::lock_guard lock(mu);
  std::shared_ptr<egress::EgressProxy> p = current.lock();
  if (!p) {
    p = egress::EgressProxy::create();
    current = p;
  }
  return p;
}

Result<std::unique_ptr<egress::Listener>> openSessionEgress(const sandbox::Sandbox& sandbox,
                                                            const egress::AllowList& allow,
                                                            EgressAudit audit) {
  const sandbox::SandboxOptions& o = sandbox.options();
  if (o.network != sandbox::Network::kProxy) {
    return Error::internal("egress: the sandbox does not use proxy networking");
  }
  egress::ListenOptions lo;
  lo.socket_path = o.egress.socket;
  lo.session_id = o.session_id;
  lo.allow = allow;
  if (sandbox.fileOwnerUid() != static_cast<uid_t>(-1)) {
    lo.owner = std::make_pair(sandbox.fileOwnerUid(), sandbox.fileOwnerGid());
  }
  if (audit.sink != nullptr) {
    lo.record = [a = std::make_shared<const EgressAudit>(std::move(audit))](
                    const egress::Decision& d, std::function<void(bool)> done) {
      audit::AuditEvent ev = a->base;
      ev.event_time = std::chrono::system_clock::now();
      ev.event_name = "EgressConnect";
      ev.request_id = newRequestId();
      ev.request_parameters.extra.emplace_back("method", d.method);
      ev.request_parameters.extra.emplace_back("host", d.host);
      ev.request_parameters.extra.emplace_back("port", std::to_string(d.port));
      ev.response_elements.status = d.status;
      if (!d.allowed) {
        ev.error_code = d.status == 403 ? "EgressDenied" : "EgressFailed";
        ev.error_message = d.reason;
      }
      const std::string session = d.session_id;
      a->sink->append(std::move(ev), [done = std::move(done), session](Result<std::uint64_t> r) {
        if (!r) {
          log::warn("egress: session {}: audit record failed: {}", session, r.error().message);
        }
        done(r.has_value());
      });
    };
  }
  std::shared_ptr<egress::EgressProxy> proxy = sharedEgressProxy();
  return proxy->listen(std::move(lo));
}

}  // namespace basalt::agent_runtime
