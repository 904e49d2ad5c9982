#include "basalt/storage/sqlite_audit_sink.h"

#include "audit/audit_fixture.h"
#include "basalt/audit/rfc3339.h"
#include "basalt/storage/audit_log.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

namespace basalt::storage {
namespace {

using basalt::testing::sampleEvent;
using basalt::testing::TempDir;
using namespace std::chrono_literals;
using AuditEvent = audit::AuditEvent;

class SinkTest : public ::testing::Test {
 protected:
  std::string db() const { return dir_.file("basalt.db"); }
  std::string keyPath() const { return dir_.file("audit-ed25519.pem"); }

  std::unique_ptr<SqliteAuditSink> openSink(AuditSinkOptions options = {}) {
    options.db_path = db();
    auto key = audit::SigningKey::loadOrCreate(keyPath());
    EXPECT_TRUE(key.has_value());
    auto sink = SqliteAuditSink::open(std::move(options), std::move(*key));
    EXPECT_TRUE(sink.has_value()) << sink.error().message;
    return sink ? std::move(*sink) : nullptr;
  }

  audit::VerifyResult verify() {
    auto log = AuditLog::open(db());
    EXPECT_TRUE(log.has_value()) << log.error().message;
    auto key = audit::PublicKey::fromFile(keyPath());
    EXPECT_TRUE(key.has_value());
    auto r = (*log)->verify(*key);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return *r;
  }

  TempDir dir_;
};

TEST_F(SinkTest, AppendIsDurableBeforeTheCallbackAndNumberedFromOne) {
  auto sink = openSink();
  ASSERT_TRUE(sink);
  for (std::uint64_t want = 1; want <= 3; ++want) {
    auto r = audit::appendAndWait(*sink, sampleEvent("alice", 1)).get();
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(*r, want);
    // Another connection already sees it: the callback ran after COMMIT.
    EXPECT_EQ(basalt::testing::rawText(db(), "SELECT max(seq) FROM audit"), std::to_string(want));
  }
  EXPECT_TRUE(sink->healthy());
  const audit::VerifyResult v = verify();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, 3U);
}

TEST_F(SinkTest, ConcurrentAppendsAreGapFreeAndGroupCommitted) {
  AuditSinkOptions options;
  options.seal_every_records = 100;
  auto sink = openSink(options);
  ASSERT_TRUE(sink);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  std::mutex mu;
  std::vector<std::uint64_t> seqs;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Like a request: wait for its own record before the next one.
        auto r = audit::appendAndWait(*sink, sampleEvent("user" + std::to_string(t), i)).get();
        ASSERT_TRUE(r.has_value()) << r.error().message;
        std::lock_guard lock(mu);
        seqs.push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::sort(seqs.begin(), seqs.end());
  ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1);

  const AuditSinkStats stats = sink->stats();
  EXPECT_EQ(stats.events, seqs.size());
  EXPECT_LT(stats.transactions, stats.events) << "no group commit happened";
  EXPECT_EQ(stats.head_seq, seqs.size());
  EXPECT_GE(stats.seals, seqs.size() / 100 - 1);
  sink->close();
  const audit::VerifyResult v = verify();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, seqs.size());
  EXPECT_EQ(v.last_sealed_seq, seqs.size());  // close() sealed the head
}

TEST_F(SinkTest, FireAndForgetAppendsFormLargeGroups) {
  auto sink = openSink();
  ASSERT_TRUE(sink);
  std::atomic<int> done{0};
  std::promise<void> all;
  constexpr int kEvents = 2000;
  for (int i = 0; i < kEvents; ++i) {
    sink->append(sampleEvent("bulk", i), [&](Result<std::uint64_t> r) {
      EXPECT_TRUE(r.has_value());
      if (++done == kEvents) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(30s), std::future_status::ready);
  const AuditSinkStats stats = sink->stats();
  EXPECT_EQ(stats.events, static_cast<std::uint64_t>(kEvents));
  EXPECT_LT(stats.transactions * 10, stats.events);
}

TEST_F(SinkTest, TimedSealCoversAQuietTail) {
  AuditSinkOptions options;
  options.seal_every = 50ms;
  auto sink = openSink(options);
  ASSERT_TRUE(sink);
  ASSERT_TRUE(audit::appendAndWait(*sink, sampleEvent("alice", 1)).get().has_value());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (sink->stats().seals == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(sink->stats().seals, 1U);
  EXPECT_EQ(basalt::testing::rawText(db(), "SELECT max(seq) FROM audit_seals"), "1");
}

TEST_F(SinkTest, RestartContinuesTheChain) {
  {
    auto sink = openSink();
    ASSERT_TRUE(sink);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(audit::appendAndWait(*sink, sampleEvent("a", i)).get());
  }
  auto sink = openSink();
  ASSERT_TRUE(sink);
  auto r = audit::appendAndWait(*sink, sampleEvent("a", 9)).get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 6U);
  sink->close();
  const audit::VerifyResult v = verify();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, 6U);
  EXPECT_EQ(v.seals, 2U);  // one per clean shutdown
}

TEST_F(SinkTest, AppendAfterCloseFailsClosed) {
  auto sink = openSink();
  ASSERT_TRUE(sink);
  sink->close();
  auto r = audit::appendAndWait(*sink, sampleEvent("a", 1)).get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "audit_unavailable");
  EXPECT_FALSE(sink->healthy());
}

TEST_F(SinkTest, FullDatabaseFailsAppendsWithAnErrorAndKeepsTheChainIntact) {
  AuditSinkOptions options;
  auto sink = openSink();  // creates the schema at full size first
  ASSERT_TRUE(sink);
  ASSERT_TRUE(audit::appendAndWait(*sink, sampleEvent("a", 0)).get());
  sink->close();
  const std::int64_t pages = std::stoll(basalt::testing::rawText(db(), "PRAGMA page_count"));
  options.max_page_count = pages + 2;
  sink = openSink(options);
  ASSERT_TRUE(sink);
  std::optional<Error> failure;
  std::uint64_t written = 1;
  for (int i = 1; i < 5000 && !failure; ++i) {
    AuditEvent e = sampleEvent("a", i);
    e.user_agent = std::string(2000, 'x');  // fill pages quickly
    auto r = audit::appendAndWait(*sink, std::move(e)).get();
    if (r) {
      written = *r;
    } else {
      failure = r.error();
    }
  }
  ASSERT_TRUE(failure.has_value()) << "the capped database never filled up";
  EXPECT_EQ(failure->kind, ErrorKind::kUpstreamUnavailable);
  EXPECT_EQ(failure->code, "audit_unavailable");
  EXPECT_NE(failure->message.find("full"), std::string::npos) << failure->message;
  EXPECT_EQ(httpStatus(failure->kind), 503);
  EXPECT_FALSE(sink->healthy());
  EXPECT_GE(sink->stats().failed_events, 1U);
  sink.reset();
  const audit::VerifyResult v = verify();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.head_seq, written);
}

// The read-only case runs in a child process, which (when the tests run as root) drops to
// nobody so that the file mode applies.
TEST_F(SinkTest, ReadOnlyDatabaseFailsAppendsWithAnError) {
  {
    auto sink = openSink();
    ASSERT_TRUE(sink);
    ASSERT_TRUE(audit::appendAndWait(*sink, sampleEvent("a", 0)).get());
  }
  // The directory stays writable (SQLite creates its -wal/-shm side files there); the
  // database file itself is read-only, as after a chmod or a read-only bind mount of the file.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0777), 0);
  for (const char* f : {"basalt.db", "basalt.db-wal", "basalt.db-shm"}) {
    ::chmod(dir_.file(f).c_str(), 0444);
  }
  ::chmod(keyPath().c_str(), 0644);  // the child needs to read the key
  auto key = audit::SigningKey::loadOrCreate(keyPath());
  ASSERT_TRUE(key.has_value());

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Root ignores file modes: drop to nobody. Anyone else is already bound by them.
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    AuditSinkOptions options;
    options.db_path = db();
    auto sink = SqliteAuditSink::open(options, std::move(*key));
    if (!sink) {
      std::fprintf(stderr, "open: %s\n", sink.error().message.c_str());
      ::_exit(11);
    }
    if ((*sink)->healthy()) ::_exit(12);
    auto r = audit::appendAndWait(**sink, sampleEvent("a", 1)).get();
    if (r) ::_exit(13);
    if (r.error().code != "audit_unavailable") ::_exit(14);
    (*sink).reset();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child crashed";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(SinkTest, QueryFiltersByPrincipalAndTimeAndExportWritesEverything) {
  auto sink = openSink();
  ASSERT_TRUE(sink);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(audit::appendAndWait(*sink, sampleEvent(i % 2 ? "bob" : "alice", i)).get());
  }
  auto log = AuditLog::open(db());
  ASSERT_TRUE(log.has_value());
  auto bob = (*log)->query({"bob", std::nullopt, 0});
  ASSERT_TRUE(bob.has_value());
  ASSERT_EQ(bob->size(), 5U);
  for (const auto& line : *bob) EXPECT_NE(line.find(R"("userName":"bob")"), std::string::npos);
  EXPECT_NE((*bob)[0].find(R"("seq":2,)"), std::string::npos);

  // sampleEvent(i) happens at base + i seconds.
  auto since = audit::parseRfc3339(audit::formatRfc3339Ms(sampleEvent("x", 6).event_time));
  ASSERT_TRUE(since.has_value());
  auto recent = (*log)->query({"", *since, 0});
  ASSERT_TRUE(recent.has_value());
  EXPECT_EQ(recent->size(), 4U);
  auto limited = (*log)->query({"alice", std::nullopt, 2});
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(limited->size(), 2U);
  EXPECT_TRUE((*log)->query({"carol", std::nullopt, 0})->empty());

  std::vector<std::string> lines;
  auto n = (*log)->exportAll([&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  });
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 10U);
  ASSERT_EQ(lines.size(), 10U);
  EXPECT_EQ(lines[9], basalt::testing::rawText(db(), "SELECT record FROM audit WHERE seq = 10"));
  for (const auto& l : lines) EXPECT_EQ(l.find('\n'), std::string::npos);
}

TEST_F(SinkTest, AuditLogRefusesAMissingDatabase) {
  auto log = AuditLog::open(dir_.file("nope.db"));
  EXPECT_FALSE(log.has_value());
}

}  // namespace
}  // namespace basalt::storage
