// A writer killed with SIGKILL under load: every acknowledged record must survive, with no
// gap, in a chain that verifies; the next start continues it.

#include "audit/audit_fixture.h"
#include "basalt/storage/audit_log.h"
#include "basalt/storage/sqlite_audit_sink.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace basalt::storage {
namespace {

using basalt::testing::sampleEvent;
using namespace std::chrono_literals;

// Child: several threads append like request handlers (each waits for its own record), and
// the callback reports every acknowledged seq over the pipe. Never returns.
[[noreturn]] void runChild(const std::string& db, const std::string& key_path, int ack_fd) {
  auto key = audit::SigningKey::loadOrCreate(key_path);
  if (!key) ::_exit(3);
  AuditSinkOptions options;
  options.db_path = db;
  options.seal_every_records = 200;
  auto sink = SqliteAuditSink::open(options, std::move(*key));
  if (!sink) ::_exit(4);
  SqliteAuditSink* s = sink->get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([s, t, ack_fd] {
      for (int i = 0;; ++i) {
        std::promise<bool> acked;
        s->append(sampleEvent("user" + std::to_string(t), i), [&](Result<std::uint64_t> r) {
          if (r) {
            const std::uint64_t seq = *r;
            // 8 bytes < PIPE_BUF: atomic, never interleaved.
            if (::write(ack_fd, &seq, sizeof seq) != sizeof seq) ::_exit(5);
          }
          acked.set_value(r.has_value());
        });
        if (!acked.get_future().get()) ::_exit(6);
      }
    });
  }
  for (;;) ::pause();
}

TEST(AuditCrash, SigkillUnderLoadLosesNoAcknowledgedRecord) {
  basalt::testing::TempDir dir;
  const std::string db = dir.file("basalt.db");
  const std::string key_path = dir.file("audit-ed25519.pem");
  ASSERT_TRUE(audit::SigningKey::loadOrCreate(key_path).has_value());

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    runChild(db, key_path, fds[1]);
  }
  ::close(fds[1]);

  std::vector<std::uint64_t> acked;
  std::string pending;
  const auto drain = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t off = 0;
    for (; off + 8 <= pending.size(); off += 8) {
      std::uint64_t seq = 0;
      std::memcpy(&seq, pending.data() + off, 8);
      acked.push_back(seq);
    }
    pending.erase(0, off);
    return true;
  };

  // Let it run until plenty of records are acknowledged (bounded in time), then kill it
  // mid-stream: appends are in flight on every thread at this moment.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (acked.size() < 3000 && std::chrono::steady_clock::now() < deadline) {
    if (!drain(1000)) break;
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  while (drain(5000)) {
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited early with " << WEXITSTATUS(status);
  ASSERT_GE(acked.size(), 1000U) << "too little load before the kill";

  auto key = audit::PublicKey::fromFile(key_path);
  ASSERT_TRUE(key.has_value());
  {
    auto log = AuditLog::open(db);
    ASSERT_TRUE(log.has_value()) << log.error().message;
    auto r = (*log)->verify(*key);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_TRUE(r->ok) << r->reason;
    // The chain is gap-free from 1 (verify checked), so every acknowledged seq is in it iff
    // none is past the head.
    const std::uint64_t max_acked = *std::max_element(acked.begin(), acked.end());
    EXPECT_GE(r->head_seq, max_acked);
    EXPECT_GE(r->records, acked.size());
    std::sort(acked.begin(), acked.end());
    EXPECT_EQ(std::adjacent_find(acked.begin(), acked.end()), acked.end()) << "a seq acked twice";
  }

  // Restart: the chain continues from the surviving head.
  auto signing = audit::SigningKey::loadOrCreate(key_path);
  ASSERT_TRUE(signing.has_value());
  AuditSinkOptions options;
  options.db_path = db;
  auto sink = SqliteAuditSink::open(options, std::move(*signing));
  ASSERT_TRUE(sink.has_value()) << sink.error().message;
  const std::uint64_t head = (*sink)->stats().head_seq;
  auto next = audit::appendAndWait(**sink, sampleEvent("after", 0)).get();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, head + 1);
  (*sink)->close();
  auto log = AuditLog::open(db);
  ASSERT_TRUE(log.has_value());
  auto r = (*log)->verify(*key);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok) << r->reason;
}

}  // namespace
}  // namespace basalt::storage
