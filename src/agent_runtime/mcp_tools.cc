#include "basalt/agent_runtime/mcp_tools.h"

#include "basalt/agents/agent_store.h"

#include "basalt/audit/rfc3339.h"
#include "basalt/core/log.h"
#include "basalt/mcp/credential.h"
#include "json_fields.h"

#include <boost/json.hpp>

#include <set>

namespace basalt::agent_runtime {

namespace json = boost::json;

namespace {

using detail::parseObject;

/// Merges the decrypted secret fields back into the public `auth` object (same structure).
void mergeSecret(json::object& into, const json::object& secret) {
  for (const auto& kv : secret) {
    json::value* existing = into.if_contains(kv.key());
    if (kv.value().is_object() && existing != nullptr && existing->is_object()) {
      mergeSecret(existing->as_object(), kv.value().as_object());
    } else {
      into[kv.key()] = kv.value();
    }
  }
}

Error authError(std::string message) {
  Error e{ErrorKind::kUnauthenticated, std::move(message)};
  e.code = std::string(mcp::kAuthFailedCode);
  return e;
}

}  // namespace

struct McpToolbox::Server {
  std::unique_ptr<mcp::McpClient> client;
  bool failed = false;
  int listed_generation = 0;
  std::vector<mcp::Tool> tools;
};

McpToolbox::McpToolbox(agents::AgentStore& store, std::string owner_id,
                       std::vector<std::string> vault_ids, mcp::ClientOptions options)
    : store_(store),
      owner_id_(std::move(owner_id)),
      vault_ids_(std::move(vault_ids)),
      options_(std::move(options)) {}

McpToolbox::~McpToolbox() = default;

Task<Result<std::string>> McpToolbox::bearerFor(const std::string& url) {
  const agents::Access access{owner_id_, owner_id_ == "root"};
  for (const std::string& vault_id : vault_ids_) {
    agents::ListOptions o;
    o.limit = 100;
    for (int pages = 0; pages < 100; ++pages) {
      Result<agents::Page<agents::Credential>> page = store_.listCredentials(access, vault_id, o);
      if (!page) {
        log::warn("MCP credentials: vault {}: {}", vault_id, page.error().message);
        break;
      }
      for (const agents::Credential& c : page->items) {
        if (c.archived_at_ms || c.mcp_server_url != url) continue;
        Result<std::string> secret = store_.credentialSecret(access, vault_id, c.id);
        if (!secret) co_return authError("credential " + c.id + ": " + secret.error().message);
        json::object body = parseObject(c.body);
        json::object auth;
        if (const json::value* a = body.if_contains("auth"); a && a->is_object()) {
          auth = a->as_object();
        }
        mergeSecret(auth, parseObject(*secret));
        std::optional<mcp::SystemTime> expires_at;
        if (const json::value* e = auth.if_contains("expires_at"); e && e->is_string()) {
          Result<std::chrono::system_clock::time_point> t = audit::parseRfc3339(e->as_string());
          if (t) expires_at = *t;
        }
        Result<mcp::Credential> cred = mcp::parseCredential(json::serialize(auth), expires_at);
        if (!cred) co_return authError("credential " + c.id + ": " + cred.error().message);
        if (!mcp::expired(*cred, std::chrono::system_clock::now())) co_return cred->token;
        if (!cred->refresh) {
          co_return authError("credential " + c.id +
                              ": the access token expired and it has no refresh configuration");
        }
        Task<Result<mcp::RefreshedToken>> refreshing =
            mcp::refreshAccessToken(*cred->refresh, options_);
        Result<mcp::RefreshedToken> fresh = co_await std::move(refreshing);
        if (!fresh) {
          Error e = fresh.error();
          e.message = "credential " + c.id + ": " + e.message;
          co_return e;
        }
        // Write the new token back (sealed) so the next session does not refresh again.
        json::object new_secret = parseObject(*secret);
        new_secret["access_token"] = fresh->access_token;
        if (!fresh->refresh_token.empty()) {
          json::value& r = new_secret["refresh"];
          if (!r.is_object()) r = json::object{};
          r.as_object()["refresh_token"] = fresh->refresh_token;
        }
        json::value& pub = body["auth"];
        if (!pub.is_object()) pub = json::object{};
        if (fresh->expires_in) {
          pub.as_object()["expires_at"] =
              audit::formatRfc3339Ms(std::chrono::system_clock::now() + *fresh->expires_in);
        } else {
          pub.as_object()["expires_at"] = nullptr;
        }
        const std::string secret_text = json::serialize(new_secret);
        Result<agents::Credential> saved = store_.updateCredential(
            access, vault_id, c.id, json::serialize(body), std::string_view(secret_text));
        if (!saved) {
          log::warn("MCP credentials: could not store the refreshed token of {}: {}", c.id,
                    saved.error().message);
        }
        co_return fresh->access_token;
      }
      if (page->next_page.empty()) break;
      o.page = page->next_page;
    }
  }
  co_return std::string();  // no credential: the server is called without Authorization
}

Task<Result<McpToolbox::Server*>> McpToolbox::connected(const McpToolset& toolset) {
  std::unique_ptr<Server>& slot = servers_[toolset.server_name];
  if (!slot) slot = std::make_unique<Server>();
  if (slot->client) co_return slot.get();
  Task<Result<std::string>> lookup = bearerFor(toolset.url);
  Result<std::string> token = co_await std::move(lookup);
  if (!token) co_return token.error();
  Result<std::unique_ptr<mcp::McpClient>> client =
      mcp::McpClient::create(toolset.url, options_, std::move(*token));
  if (!client) {
    Error e = client.error();
    e.code = std::string(mcp::kConnectFailedCode);
    co_return e;
  }
  Task<Result<void>> connecting = (*client)->connect();
  Result<void> ok = co_await std::move(connecting);
  if (!ok) co_return ok.error();
  // Looked up again: the map may have changed while this coroutine was suspended.
  Server* server = servers_[toolset.server_name].get();
  server->client = std::move(*client);
  co_return server;
}

Task<std::vector<McpServerFailure>> McpToolbox::resolve(const std::vector<McpToolset>& toolsets,
                                                        std::vector<std::string> reserved) {
  std::vector<McpServerFailure> failures;
  for (const McpToolset& ts : toolsets) {
    auto it = servers_.find(ts.server_name);
    if (it != servers_.end() && it->second->failed) continue;
    Task<Result<Server*>> connecting = connected(ts);
    Result<Server*> server = co_await std::move(connecting);
    Error error;
    bool failed = !server;
    if (server && (*server)->listed_generation != (*server)->client->generation()) {
      Server* s = *server;
      Task<Result<std::vector<mcp::Tool>>> listing = s->client->listTools();
      Result<std::vector<mcp::Tool>> tools = co_await std::move(listing);
      if (tools) {
        s->tools = std::move(*tools);
        // A re-initialization during the listing is covered by this listing.
        s->listed_generation = s->client->generation();
      } else {
        failed = true;
        error = tools.error();
      }
    } else if (!server) {
      error = server.error();
    }
    if (failed) {
      if (error.kind == ErrorKind::kCancelled) continue;  // interrupted: try again next time
      std::unique_ptr<Server>& slot = servers_[ts.server_name];
      if (!slot) slot = std::make_unique<Server>();
      slot->failed = true;
      slot->client.reset();
      slot->tools.clear();
      log::warn("agent MCP toolset {}: {}", ts.server_name, error.message);
      failures.push_back({ts.server_name, mcp::isAuthFailure(error), error.message});
    }
  }
  specs_.clear();
  by_model_name_.clear();
  std::set<std::string> taken(reserved.begin(), reserved.end());
  for (const McpToolset& ts : toolsets) {
    auto it = servers_.find(ts.server_name);
    if (it == servers_.end() || it->second->failed) continue;
    for (const mcp::Tool& t : it->second->tools) {
      if (!ts.enabled(t.name)) continue;
      std::string name = mcpToolName(ts.server_name, t.name);
      if (!taken.insert(name).second) continue;
      canonical::ToolSpec spec;
      spec.name = name;
      spec.description = t.description.empty() ? t.title : t.description;
      spec.parameters_json = t.input_schema_json;
      specs_.push_back(std::move(spec));
      by_model_name_[name] = McpToolRef{ts.server_name, t.name, ts.ask(t.name)};
    }
  }
  co_return failures;
}

std::vector<canonical::ToolSpec> McpToolbox::specs() const {
  return specs_;
}

const McpToolRef* McpToolbox::find(std::string_view model_name) const {
  auto it = by_model_name_.find(std::string(model_name));
  return it == by_model_name_.end() ? nullptr : &it->second;
}

Task<Result<mcp::ToolResult>> McpToolbox::call(const McpToolset& toolset, std::string tool,
                                               std::string input_json) {
  Task<Result<Server*>> connecting = connected(toolset);
  Result<Server*> server = co_await std::move(connecting);
  if (!server) co_return server.error();
  Task<Result<mcp::ToolResult>> calling = (*server)->client->callTool(tool, input_json);
  Result<mcp::ToolResult> r = co_await std::move(calling);
  co_return r;
}

Task<void> McpToolbox::closeAll() {
  for (auto& [name, server] : servers_) {
    if (!server->client) continue;
    Task<void> closing = server->client->close();
    co_await std::move(closing);
  }
}

Task<void> closeToolbox(std::unique_ptr<McpToolbox> toolbox) {
  if (!toolbox) co_return;
  Task<void> closing = toolbox->closeAll();
  co_await std::move(closing);
}

}  // namespace basalt::agent_runtime
