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

constexpr std::array<Migration, 2> kMigrations = {{
    {1, kV1},
    {2, kV2},
}};

}  // namespace

std::span<const Migration> builtinMigrations() {
  return kMigrations;
}

int latestSchemaVersion() {
  return kMigrations.back().version;
}

}  // namespace basalt::storage
