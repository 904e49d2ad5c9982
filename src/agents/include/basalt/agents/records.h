#pragma once
/// The managed-agents records as the AgentStore keeps them. Fields the store does not
/// interpret travel as JSON text (`body`, `payload`, ...): the HTTP layer owns their wire
/// shape, the runtime parses what it needs. Times are milliseconds since the Unix epoch.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::agents {

/// Who is asking. Every resource has an owner principal; a non-root caller sees only its own
/// (anything else is "not found", so existence never leaks). The root admin sees everything.
struct Access {
  std::string principal_id;
  bool root = false;

  static Access rootAccess() { return {"root", true}; }
};

/// Resources that are a plain JSON document with an owner: environments, vaults, memory
/// stores.
enum class DocKind : std::uint8_t { kEnvironment, kVault, kMemoryStore };

struct Document {
  DocKind kind = DocKind::kEnvironment;
  std::string id;
  std::string owner_id;
  std::string body;  ///< JSON object: name, description, metadata, config, ...
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> archived_at_ms;
};

/// One immutable version of an agent's configuration.
struct AgentVersion {
  std::string id;
  std::string owner_id;
  int version = 1;
  int latest_version = 1;
  std::string body;  ///< JSON object: name, description, model, system, tools, mcp_servers, ...
  std::int64_t created_at_ms = 0;  ///< the agent's creation
  std::int64_t updated_at_ms = 0;  ///< this version's creation
  std::optional<std::int64_t> archived_at_ms;
};

enum class SessionStatus : std::uint8_t { kIdle, kRunning, kRescheduling, kTerminated };
std::string_view statusName(SessionStatus status);
std::optional<SessionStatus> parseStatus(std::string_view name);

struct Session {
  std::string id;
  std::string owner_id;
  std::string run_as;  ///< the principal the session's model and tool calls run as
  std::string agent_id;
  int agent_version = 1;  ///< pinned at creation
  std::string environment_id;
  SessionStatus status = SessionStatus::kIdle;
  std::string stop_reason;  ///< JSON object of the last idle stop, or empty
  std::string body;         ///< JSON object: title, metadata, resources, vault_ids, budget
  std::string usage = "{}";
  std::string stats = "{}";
  std::int64_t last_seq = 0;  ///< seq of the newest event (0: none)
  std::string lease_holder;   ///< empty: no live worker
  std::optional<std::int64_t> lease_expires_at_ms;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> archived_at_ms;
};

/// One entry of a session's durable event log.
struct SessionEvent {
  std::string session_id;
  std::int64_t seq = 0;  ///< per session, strictly increasing from 1
  std::string id;        ///< "sevt_..."
  std::string type;      ///< "user.message", "agent.tool_use", ...
  std::string ref_id;    ///< the tool use an answering event refers to, or empty
  std::string payload;   ///< JSON object: the event's fields other than id/type/processed_at
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> processed_at_ms;  ///< nullopt: queued for the runtime
};

/// An event to append. `processed` false queues it for the runtime (user events).
struct NewEvent {
  std::string type;
  std::string payload = "{}";
  std::string ref_id;
  bool processed = false;
};

/// A session status change committed atomically with appended events.
struct StatusChange {
  SessionStatus status = SessionStatus::kIdle;
  std::string stop_reason;  ///< JSON object for idle; empty clears it
};

/// A vault credential. The secret part never leaves the store through this record.
struct Credential {
  std::string id;
  std::string vault_id;
  std::string owner_id;
  std::string mcp_server_url;  ///< empty for credentials not bound to an MCP server
  std::string body;            ///< JSON object: auth (without secrets), display_name, metadata
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> archived_at_ms;
};

struct Memory {
  std::string id;
  std::string store_id;
  std::string path;
  std::string content;
  std::string content_sha256;  ///< lower-case hex
  std::int64_t content_size = 0;
  std::string version_id;  ///< the version this content is
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct MemoryVersion {
  std::string id;
  std::string store_id;
  std::string memory_id;
  std::string operation;  ///< created | modified | deleted
  std::string path;
  std::optional<std::string> content;  ///< nullopt: deleted or redacted
  std::string content_sha256;
  std::optional<std::int64_t> content_size;
  std::string actor;  ///< JSON object: {"type":"api_actor","api_key_id":...} or a session actor
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> redacted_at_ms;
};

/// One page of a listing. `next_page` is an opaque cursor (empty on the last page).
template <class T>
struct Page {
  std::vector<T> items;
  std::string next_page;
  std::string prev_page;
};

struct ListOptions {
  int limit = 20;  ///< 1..100
  std::string page;
  bool include_archived = false;
  bool ascending = false;  ///< default: newest first
  std::optional<std::int64_t> created_gte_ms;
  std::optional<std::int64_t> created_lte_ms;
};

struct EventListOptions {
  int limit = 100;  ///< 1..1000
  std::string page;
  bool ascending = true;           ///< default: oldest first (the log in order)
  std::vector<std::string> types;  ///< empty: all
  std::optional<std::int64_t> created_gt_ms, created_gte_ms, created_lt_ms, created_lte_ms;
};

struct MemoryListOptions {
  int limit = 20;
  std::string page;
  std::string path_prefix;
  std::optional<int> depth;  ///< paths deeper than this below the prefix collapse to prefixes
};

/// A memory listing entry: a memory, or (when `depth` collapses them) a path prefix.
struct MemoryListItem {
  bool is_prefix = false;
  std::string prefix;
  Memory memory;
};

}  // namespace basalt::agents
