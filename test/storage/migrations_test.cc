#include "basalt/storage/migrations.h"

#include "sqlite_db.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>

namespace basalt::storage {
namespace {

using basalt::testing::TempDir;

std::int64_t scalar(Db& db, const char* sql) {
  auto st = db.prepare(sql);
  EXPECT_TRUE(st.has_value());
  EXPECT_EQ(st->step(), SQLITE_ROW);
  return st->i64(0);
}

TEST(Migrations, NewDatabaseGetsTheLatestSchemaInWalMode) {
  TempDir dir;
  auto db = Db::open(dir.file("basalt.db"), OpenOptions{}, builtinMigrations());
  ASSERT_TRUE(db.has_value()) << db.error().message;
  EXPECT_EQ(scalar(*db, "SELECT max(version) FROM schema_version"), latestSchemaVersion());
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM schema_version"), 1);
  for (const char* table : {"principals", "groups", "group_members", "api_keys", "access_keys",
                            "policies", "attachments", "quotas", "audit", "audit_seals", "meta",
                            "responses"}) {
    auto st = db->prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?");
    ASSERT_TRUE(st.has_value());
    st->bind(1, std::string_view(table));
    ASSERT_EQ(st->step(), SQLITE_ROW);
    EXPECT_EQ(st->i64(0), 1) << table;
  }
  auto mode = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.has_value());
  ASSERT_EQ(mode->step(), SQLITE_ROW);
  EXPECT_EQ(mode->text(0), "wal");
  EXPECT_EQ(scalar(*db, "PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(scalar(*db, "PRAGMA foreign_keys"), 1);
}

TEST(Migrations, NewDatabaseFilesArePrivate) {
  TempDir dir;
  const std::string path = dir.file("basalt.db");
  auto db = Db::open(path, OpenOptions{}, builtinMigrations());
  ASSERT_TRUE(db.has_value());
  ASSERT_TRUE(db->exec("INSERT INTO groups (name, created_at) VALUES ('g', 0)", "w").has_value());
  for (const std::string& f : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777U, 0600U) << f;
  }
}

TEST(Migrations, ReopeningDoesNotReapply) {
  TempDir dir;
  const std::string path = dir.file("basalt.db");
  ASSERT_TRUE(Db::open(path, OpenOptions{}, builtinMigrations()).has_value());
  auto again = Db::open(path, OpenOptions{}, builtinMigrations());
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(scalar(*again, "SELECT count(*) FROM meta"), 1);  // v1's INSERT ran once
}

TEST(Migrations, AppliesNewerMigrationsInOrderOnce) {
  TempDir dir;
  const std::string path = dir.file("m.db");
  const std::array<Migration, 1> v1 = {{{1, "CREATE TABLE t (a INTEGER);"}}};
  const std::array<Migration, 3> v3 = {{{1, "CREATE TABLE t (a INTEGER);"},
                                        {2, "INSERT INTO t (a) VALUES (2);"},
                                        {3, "INSERT INTO t (a) SELECT max(a) + 1 FROM t;"}}};
  {
    auto db = Db::open(path, OpenOptions{}, v1);
    ASSERT_TRUE(db.has_value()) << db.error().message;
    EXPECT_EQ(scalar(*db, "SELECT count(*) FROM t"), 0);
  }
  for (int round = 0; round < 2; ++round) {
    auto db = Db::open(path, OpenOptions{}, v3);
    ASSERT_TRUE(db.has_value()) << db.error().message;
    EXPECT_EQ(scalar(*db, "SELECT max(version) FROM schema_version"), 3);
    // 2 then 3, each once: order matters because v3 reads what v2 wrote.
    EXPECT_EQ(scalar(*db, "SELECT count(*) FROM t"), 2);
    EXPECT_EQ(scalar(*db, "SELECT max(a) FROM t"), 3);
  }
}

TEST(Migrations, AFailingMigrationLeavesTheOldVersion) {
  TempDir dir;
  const std::string path = dir.file("m.db");
  const std::array<Migration, 1> v1 = {{{1, "CREATE TABLE t (a INTEGER);"}}};
  const std::array<Migration, 2> bad = {
      {{1, "CREATE TABLE t (a INTEGER);"}, {2, "INSERT INTO t (a) VALUES (1); SELECT nonsense;"}}};
  ASSERT_TRUE(Db::open(path, OpenOptions{}, v1).has_value());
  auto db = Db::open(path, OpenOptions{}, bad);
  ASSERT_FALSE(db.has_value());
  auto after = Db::open(path, OpenOptions{}, v1);
  ASSERT_TRUE(after.has_value()) << after.error().message;
  EXPECT_EQ(scalar(*after, "SELECT max(version) FROM schema_version"), 1);
  EXPECT_EQ(scalar(*after, "SELECT count(*) FROM t"), 0);  // rolled back with it
}

TEST(Migrations, RefusesADatabaseFromANewerBinary) {
  TempDir dir;
  const std::string path = dir.file("basalt.db");
  {
    auto db = Db::open(path, OpenOptions{}, builtinMigrations());
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(db->exec("UPDATE schema_version SET version = 999", "bump").has_value());
  }
  auto db = Db::open(path, OpenOptions{}, builtinMigrations());
  ASSERT_FALSE(db.has_value());
  EXPECT_NE(db.error().message.find("newer"), std::string::npos) << db.error().message;
  OpenOptions ro;
  ro.mode = OpenMode::kReadOnly;
  EXPECT_FALSE(Db::open(path, ro, builtinMigrations()).has_value());
}

TEST(Migrations, ReadOnlyOpenRefusesAFileThatIsNotABasaltDatabase) {
  TempDir dir;
  OpenOptions ro;
  ro.mode = OpenMode::kReadOnly;
  EXPECT_FALSE(Db::open(dir.file("missing.db"), ro, builtinMigrations()).has_value());
  {
    auto other = Db::open(dir.file("other.db"), OpenOptions{},
                          std::span<const Migration>(builtinMigrations().data(), 0));
    ASSERT_TRUE(other.has_value());
  }
  auto db = Db::open(dir.file("other.db"), ro, builtinMigrations());
  ASSERT_FALSE(db.has_value());
}

TEST(Migrations, DiskErrorsBecomeUnavailable) {
  Error full = sqliteError(nullptr, SQLITE_FULL, "write");
  EXPECT_EQ(full.kind, ErrorKind::kUpstreamUnavailable);
  EXPECT_EQ(full.code, "storage_full");
  Error ro = sqliteError(nullptr, SQLITE_READONLY_DBMOVED, "write");
  EXPECT_EQ(ro.kind, ErrorKind::kUpstreamUnavailable);
  EXPECT_EQ(ro.code, "storage_read_only");
  Error io = sqliteError(nullptr, SQLITE_IOERR_FSYNC, "write");
  EXPECT_EQ(io.code, "storage_io_error");
  EXPECT_EQ(httpStatus(io.kind), 503);
}

}  // namespace
}  // namespace basalt::storage
