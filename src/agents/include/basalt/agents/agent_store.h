#pragma once
/// AgentStore: the durable state of managed agents in Basalt's SQLite database (the same file
/// as everything else, schema v3 in storage/sqlite/migrations.cc): environments, agents with
/// immutable versions, sessions, their event logs, vaults with encrypted credentials, memory
/// stores with memories and immutable memory versions.
///
/// Two audiences:
///  - the HTTP API (agents_api.h) calls the `Access`-scoped operations: a resource of another
///    principal is "not found" unless the caller is root;
///  - the runtime (the agent loop, later) calls the unscoped session operations: append events
///    atomically with a status change, claim/renew/release a session lease, find sessions whose
///    worker died, mark queued events processed, read credential secrets.
///
/// Thread-safe (one connection behind a mutex; every call is a short transaction). Errors:
/// kNotFound (404), kInvalidRequest (400, `param` names the field), code "conflict" (409),
/// storage trouble as kUpstreamUnavailable (503).

#include "basalt/agents/records.h"
#include "basalt/core/error.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::agents {

class VaultCipher;

/// Error code of a 409 answer (duplicate mcp_server_url, memory path taken, version mismatch).
inline constexpr std::string_view kConflictCode = "conflict";

class AgentStore {
 public:
  /// Opens (and migrates) the database at `db_path`. Credential secrets are sealed with the
  /// key in `vault_key_path` (created 0600 with 32 random bytes on first use).
  static Result<std::unique_ptr<AgentStore>> open(const std::string& db_path,
                                                  const std::string& vault_key_path);
  ~AgentStore();
  AgentStore(const AgentStore&) = delete;
  AgentStore& operator=(const AgentStore&) = delete;

  /// Called after every commit that appended events (session id, newest seq), outside the
  /// store's lock. The composition root points it at EventHub::publish.
  void setAppendListener(std::function<void(const std::string&, std::int64_t)> listener);

  // --- Environments, vaults, memory stores -------------------------------------------------
  Result<Document> createDocument(DocKind kind, const std::string& owner_id, std::string body);
  Result<Document> getDocument(DocKind kind, const Access& access, std::string_view id);
  /// Replaces the body (the caller merged the update into the current one).
  Result<Document> updateDocument(DocKind kind, const Access& access, std::string_view id,
                                  std::string body);
  Result<Document> archiveDocument(DocKind kind, const Access& access, std::string_view id);
  /// Deletes the document and everything under it (credentials, memories, versions).
  Result<void> deleteDocument(DocKind kind, const Access& access, std::string_view id);
  Result<Page<Document>> listDocuments(DocKind kind, const Access& access,
                                       const ListOptions& options);

  // --- Agents --------------------------------------------------------------------------------
  Result<AgentVersion> createAgent(const std::string& owner_id, std::string body);
  /// The latest version, or `version` when given (404 when it does not exist).
  Result<AgentVersion> getAgent(const Access& access, std::string_view id,
                                std::optional<int> version = std::nullopt);
  /// Makes version latest+1 with `body`. `expected_version` (optimistic concurrency): when set
  /// and not the latest, a 409. A body equal to the latest one makes no new version.
  Result<AgentVersion> updateAgent(const Access& access, std::string_view id,
                                   std::optional<int> expected_version, std::string body);
  Result<AgentVersion> archiveAgent(const Access& access, std::string_view id);
  Result<Page<AgentVersion>> listAgents(const Access& access, const ListOptions& options);
  /// Newest version first.
  Result<Page<AgentVersion>> listAgentVersions(const Access& access, std::string_view id,
                                               const ListOptions& options);

  // --- Sessions ------------------------------------------------------------------------------
  struct NewSession {
    std::string owner_id;
    std::string run_as;
    std::string agent_id;
    int agent_version = 1;
    std::string environment_id;
    std::string body = "{}";
  };
  /// Creates an idle session and appends `initial_events` (queued) in the same transaction.
  Result<Session> createSession(const NewSession& session,
                                const std::vector<NewEvent>& initial_events = {});
  Result<Session> getSession(const Access& access, std::string_view id);
  Result<Session> updateSessionBody(const Access& access, std::string_view id, std::string body);
  Result<Session> archiveSession(const Access& access, std::string_view id);
  /// Deletes the session and its event log.
  Result<void> deleteSession(const Access& access, std::string_view id);
  struct SessionFilter {
    std::string agent_id;
    std::optional<int> agent_version;
    std::vector<SessionStatus> statuses;
  };
  Result<Page<Session>> listSessions(const Access& access, const ListOptions& options,
                                     const SessionFilter& filter = {});

  /// Appends user events after validating what they answer, atomically: a
  /// `user.custom_tool_result` must name an `agent.custom_tool_use` of this session not yet
  /// answered; a `user.tool_confirmation` must name an `agent.tool_use`/`agent.mcp_tool_use`
  /// awaiting confirmation (`evaluated_permission` "ask") not yet answered. `ref_id` of each
  /// NewEvent carries the id it answers; errors name `events[i].<field>`. A terminated or
  /// archived session refuses events. Nothing is appended unless everything is valid.
  Result<std::vector<SessionEvent>> sendUserEvents(const Access& access, std::string_view id,
                                                   const std::vector<NewEvent>& events);

  /// The runtime's append: events (normally processed) and an optional status change in one
  /// transaction. Unscoped.
  Result<std::vector<SessionEvent>> appendEvents(std::string_view session_id,
                                                 const std::vector<NewEvent>& events,
                                                 const std::optional<StatusChange>& status = {});
  /// Stores usage and stats (JSON objects) of a session.
  Result<void> setSessionUsage(std::string_view session_id, std::string usage, std::string stats);

  Result<Page<SessionEvent>> listEvents(const Access& access, std::string_view session_id,
                                        const EventListOptions& options);
  /// Events with seq > after_seq, oldest first, at most `limit` (for streams; unscoped).
  Result<std::vector<SessionEvent>> eventsAfter(std::string_view session_id, std::int64_t after_seq,
                                                int limit = 200);
  /// The seq of event `event_id` in the session; 404 when it is not one of its events.
  Result<std::int64_t> eventSeq(std::string_view session_id, std::string_view event_id);
  /// Queued (unprocessed) events, oldest first.
  Result<std::vector<SessionEvent>> queuedEvents(std::string_view session_id);
  /// Marks every queued event with seq <= up_to_seq processed now.
  Result<void> markProcessed(std::string_view session_id, std::int64_t up_to_seq);

  // --- Leases (one live worker per session) ---------------------------------------------
  /// Takes the lease when free, expired or already `holder`'s. False when another holds it.
  Result<bool> claimLease(std::string_view session_id, std::string_view holder,
                          std::chrono::milliseconds ttl);
  /// Extends `holder`'s lease; false when it is no longer theirs.
  Result<bool> renewLease(std::string_view session_id, std::string_view holder,
                          std::chrono::milliseconds ttl);
  Result<void> releaseLease(std::string_view session_id, std::string_view holder);
  /// Sessions that are running or rescheduling with no live lease (holder died): to reap or
  /// resume.
  Result<std::vector<std::string>> sessionsWithExpiredLease();

  // --- Vault credentials -------------------------------------------------------------------
  /// `secret` (a JSON object of the write-only fields) is encrypted before it is stored. A
  /// live credential with the same non-empty `mcp_server_url` in the vault is a 409.
  Result<Credential> createCredential(const Access& access, std::string_view vault_id,
                                      std::string mcp_server_url, std::string body,
                                      std::string_view secret);
  Result<Credential> getCredential(const Access& access, std::string_view vault_id,
                                   std::string_view id);
  /// Replaces body; replaces the secret when `secret` is set.
  Result<Credential> updateCredential(const Access& access, std::string_view vault_id,
                                      std::string_view id, std::string body,
                                      std::optional<std::string_view> secret);
  Result<Credential> archiveCredential(const Access& access, std::string_view vault_id,
                                       std::string_view id);
  Result<void> deleteCredential(const Access& access, std::string_view vault_id,
                                std::string_view id);
  Result<Page<Credential>> listCredentials(const Access& access, std::string_view vault_id,
                                           const ListOptions& options);
  /// The decrypted secret JSON of a credential (for the runtime's MCP client and for merging
  /// partial updates; never for an API answer).
  Result<std::string> credentialSecret(const Access& access, std::string_view vault_id,
                                       std::string_view id);

  // --- Memories --------------------------------------------------------------------------
  /// A 409 when the path is taken. Makes a "created" version by `actor` (JSON).
  Result<Memory> createMemory(const Access& access, std::string_view store_id,
                              std::string_view path, std::string_view content,
                              std::string_view actor);
  Result<Memory> getMemory(const Access& access, std::string_view store_id, std::string_view id);
  Result<Memory> getMemoryByPath(const Access& access, std::string_view store_id,
                                 std::string_view path);
  /// Changes content and/or path; `expected_sha256` (when set) must match the current content
  /// (else 409). A change makes a "modified" version; no change makes none.
  Result<Memory> updateMemory(const Access& access, std::string_view store_id, std::string_view id,
                              std::optional<std::string_view> content,
                              std::optional<std::string_view> path,
                              std::optional<std::string_view> expected_sha256,
                              std::string_view actor);
  /// Makes a "deleted" version.
  Result<void> deleteMemory(const Access& access, std::string_view store_id, std::string_view id,
                            std::optional<std::string_view> expected_sha256,
                            std::string_view actor);
  Result<Page<MemoryListItem>> listMemories(const Access& access, std::string_view store_id,
                                            const MemoryListOptions& options);
  struct VersionFilter {
    std::string memory_id;
    std::string operation;
  };
  /// Newest first.
  Result<Page<MemoryVersion>> listMemoryVersions(const Access& access, std::string_view store_id,
                                                 const ListOptions& options,
                                                 const VersionFilter& filter = {});
  Result<MemoryVersion> getMemoryVersion(const Access& access, std::string_view store_id,
                                         std::string_view id);
  /// Writes version `id`'s content back to its memory (at the version's path; recreating the
  /// memory when it was deleted since): a new "modified" or "created" version.
  Result<Memory> restoreMemoryVersion(const Access& access, std::string_view store_id,
                                      std::string_view id, std::string_view actor);
  /// Clears a version's content (it stays in the history as redacted).
  Result<MemoryVersion> redactMemoryVersion(const Access& access, std::string_view store_id,
                                            std::string_view id);

  struct Impl;

 private:
  explicit AgentStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

}  // namespace basalt::agents
