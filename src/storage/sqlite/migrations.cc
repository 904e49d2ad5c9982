#include "basalt/storage/migrations.h"

#include <array>

namespace basalt::storage {
namespace {

// Times are INTEGER milliseconds since the Unix epoch. Names follow AWS IAM's character rules
// (checked by Store). Every CHECK here is a second line of defence behind Store's validation.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('change_counter', 0);

CREATE TABLE principals (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'service', 'agent')),
  tags TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(tags)),
  created_at INTEGER NOT NULL
);

CREATE TABLE groups (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);

CREATE TABLE group_members (
  group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
  principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  PRIMARY KEY (group_name, principal_id)
) WITHOUT ROWID;
CREATE INDEX group_members_by_principal ON group_members (principal_id);

CREATE TABLE api_keys (
  key_id TEXT PRIMARY KEY,
  digest BLOB NOT NULL CHECK (length(digest) = 32),
  principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX api_keys_by_principal ON api_keys (principal_id);

CREATE TABLE access_keys (
  access_key_id TEXT PRIMARY KEY,
  secret TEXT NOT NULL,
  principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX access_keys_by_principal ON access_keys (principal_id);

CREATE TABLE policies (
  name TEXT PRIMARY KEY,
  document TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

-- subject: a principal id (subject_kind 'principal') or a group name (subject_kind 'group').
-- No foreign key can span both, so Store deletes a subject's attachments and quotas itself.
CREATE TABLE attachments (
  policy_name TEXT NOT NULL REFERENCES policies (name) ON DELETE CASCADE,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('principal', 'group')),
  subject TEXT NOT NULL,
  PRIMARY KEY (policy_name, subject_kind, subject)
) WITHOUT ROWID;

-- model '' applies to every model.
CREATE TABLE quotas (
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('principal', 'group')),
  subject TEXT NOT NULL,
  model TEXT NOT NULL DEFAULT '',
  rpm INTEGER CHECK (rpm IS NULL OR rpm >= 0),
  tpm INTEGER CHECK (tpm IS NULL OR tpm >= 0),
  concurrency INTEGER CHECK (concurrency IS NULL OR concurrency >= 0),
  PRIMARY KEY (subject_kind, subject, model)
) WITHOUT ROWID;

-- The audit chain (docs/adr/0007-audit-chain.md). record, hash and prev_hash are what the
-- verifier checks; principal and event_time are query indexes derived from the record and
-- are not trusted.
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  record TEXT NOT NULL,
  hash TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  principal TEXT NOT NULL DEFAULT '',
  event_time INTEGER NOT NULL
);
CREATE INDEX audit_by_principal ON audit (principal, event_time);
CREATE INDEX audit_by_time ON audit (event_time);

CREATE TABLE audit_seals (
  seq INTEGER PRIMARY KEY,
  head_hash TEXT NOT NULL,
  key_fingerprint TEXT NOT NULL,
  signature BLOB NOT NULL,
  sealed_at INTEGER NOT NULL,
  prev_seq INTEGER NOT NULL
);
)sql";

// Stored Responses-API responses (`store: true`), for GET /v1/responses/{id} and
// previous_response_id. `conversation` is the whole exchange (input and output items) so a
// follow-up call can continue it; rows belong to one principal and expire.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE responses (
  id TEXT PRIMARY KEY,
  principal_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  response TEXT NOT NULL,
  conversation TEXT NOT NULL
);
CREATE INDEX responses_by_expiry ON responses (expires_at);
)sql";

// Managed agents (src/agents, AgentStore). Every row names its owner principal; the store
// scopes every read to it (another principal sees 404). `body` columns hold the resource's
// wire fields the store does not interpret (JSON objects). Session events are the durable
// log: seq is per session and strictly increasing; processed_at NULL means queued for the
// runtime; ref_id is the tool use an answering event refers to. Credential secrets are
// AES-256-GCM ciphertext (nonce || ciphertext || tag) under DATA/agents-vault.key.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE agent_environments (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  archived_at INTEGER
);
CREATE INDEX agent_environments_by_owner ON agent_environments (owner_id);

CREATE TABLE agent_agents (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  latest_version INTEGER NOT NULL CHECK (latest_version >= 1),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  archived_at INTEGER
);
CREATE INDEX agent_agents_by_owner ON agent_agents (owner_id);

CREATE TABLE agent_agent_versions (
  agent_id TEXT NOT NULL REFERENCES agent_agents (id) ON DELETE CASCADE,
  version INTEGER NOT NULL CHECK (version >= 1),
  body TEXT NOT NULL CHECK (json_valid(body)),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (agent_id, version)
) WITHOUT ROWID;

CREATE TABLE agent_sessions (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  run_as TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  agent_version INTEGER NOT NULL,
  environment_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('idle', 'running', 'rescheduling', 'terminated')),
  stop_reason TEXT CHECK (stop_reason IS NULL OR json_valid(stop_reason)),
  body TEXT NOT NULL CHECK (json_valid(body)),
  usage TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(usage)),
  stats TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(stats)),
  last_seq INTEGER NOT NULL DEFAULT 0,
  lease_holder TEXT,
  lease_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  archived_at INTEGER
);
CREATE INDEX agent_sessions_by_owner ON agent_sessions (owner_id);
CREATE INDEX agent_sessions_by_status ON agent_sessions (status, lease_expires_at);

CREATE TABLE agent_session_events (
  session_id TEXT NOT NULL REFERENCES agent_sessions (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL CHECK (seq >= 1),
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  ref_id TEXT,
  payload TEXT NOT NULL CHECK (json_valid(payload)),
  created_at INTEGER NOT NULL,
  processed_at INTEGER,
  PRIMARY KEY (session_id, seq)
);
CREATE INDEX agent_session_events_by_ref ON agent_session_events (session_id, ref_id)
  WHERE ref_id IS NOT NULL;

CREATE TABLE agent_vaults (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  archived_at INTEGER
);
CREATE INDEX agent_vaults_by_owner ON agent_vaults (owner_id);

CREATE TABLE agent_vault_credentials (
  id TEXT PRIMARY KEY,
  vault_id TEXT NOT NULL REFERENCES agent_vaults (id) ON DELETE CASCADE,
  mcp_server_url TEXT,
  body TEXT NOT NULL CHECK (json_valid(body)),
  secret BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  archived_at INTEGER
);
CREATE INDEX agent_vault_credentials_by_vault ON agent_vault_credentials (vault_id);
CREATE UNIQUE INDEX agent_vault_credentials_url ON agent_vault_credentials (vault_id, mcp_server_url)
  WHERE mcp_server_url IS NOT NULL AND archived_at IS NULL;

CREATE TABLE agent_memory_stores (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  archived_at INTEGER
);
CREATE INDEX agent_memory_stores_by_owner ON agent_memory_stores (owner_id);

CREATE TABLE agent_memories (
  id TEXT PRIMARY KEY,
  store_id TEXT NOT NULL REFERENCES agent_memory_stores (id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  content TEXT NOT NULL,
  content_sha256 TEXT NOT NULL,
  version_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (store_id, path)
);

-- Immutable: every create, modify and delete of a memory adds a row; only redaction (which
-- clears content) changes one.
CREATE TABLE agent_memory_versions (
  id TEXT PRIMARY KEY,
  store_id TEXT NOT NULL REFERENCES agent_memory_stores (id) ON DELETE CASCADE,
  memory_id TEXT NOT NULL,
  operation TEXT NOT NULL CHECK (operation IN ('created', 'modified', 'deleted')),
  path TEXT NOT NULL,
  content TEXT,
  content_sha256 TEXT,
  content_size INTEGER,
  actor TEXT NOT NULL CHECK (json_valid(actor)),
  created_at INTEGER NOT NULL,
  redacted_at INTEGER
);
CREATE INDEX agent_memory_versions_by_store ON agent_memory_versions (store_id, memory_id);
)sql";

constexpr std::array<Migration, 3> kMigrations = {{
    {1, kV1},
    {2, kV2},
    {3, kV3},
}};

}  // namespace

std::span<const Migration> builtinMigrations() {
  return kMigrations;
}

int latestSchemaVersion() {
  return kMigrations.back().version;
}

}  // namespace basalt::storage
