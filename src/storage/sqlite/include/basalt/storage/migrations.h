#pragma once
/// The schema of Basalt's SQLite database as an ordered list of migrations. The database keeps
/// its version in `schema_version`; opening applies, in one transaction each, every migration
/// newer than that version, and refuses a database whose version is newer than the last one
/// this binary knows (an older binary must never write to a newer schema).

#include <span>
#include <string_view>

namespace basalt::storage {

struct Migration {
  int version = 0;       ///< 1, 2, 3 ... strictly increasing
  std::string_view sql;  ///< one or more statements
};

/// The migrations this binary knows, oldest first. Version 1 creates every table.
std::span<const Migration> builtinMigrations();

/// The schema version this binary writes (the last built-in migration).
int latestSchemaVersion();

}  // namespace basalt::storage
