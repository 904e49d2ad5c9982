// Audit append throughput with group commit (not part of ctest).
//
//   audit_bench [THREADS [SECONDS [DIR]]]
//
// THREADS client threads each append an event and wait until it is durable before the next,
// like request handlers; the writer batches whatever is queued into one transaction
// (synchronous=FULL, so one WAL fsync per batch). Prints events/s, transactions and the mean
// group size. DIR defaults to a fresh directory under $TMPDIR (use a directory on the disk
// you care about: tmpfs fsyncs are free).

#include "audit/audit_fixture.h"
#include "basalt/storage/audit_log.h"
#include "basalt/storage/sqlite_audit_sink.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

using namespace basalt;

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 64;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 5;
  std::string dir;
  if (argc > 3) {
    dir = argv[3];
  } else {
    std::string pattern = (std::filesystem::temp_directory_path() / "audit-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return 1;
    dir = pattern;
  }
  auto key = audit::SigningKey::generate();
  if (!key) return 1;
  storage::AuditSinkOptions options;
  options.db_path = dir + "/basalt.db";
  auto sink = storage::SqliteAuditSink::open(options, std::move(*key));
  if (!sink) {
    std::fprintf(stderr, "%s\n", sink.error().message.c_str());
    return 1;
  }
  const auto start_stats = (*sink)->stats();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> failures{0};
  std::vector<std::thread> pool;
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        auto r =
            audit::appendAndWait(**sink, basalt::testing::sampleEvent("u" + std::to_string(t), i))
                .get();
        if (!r) failures.fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto stats = (*sink)->stats();
  (*sink)->close();
  const std::uint64_t events = stats.events - start_stats.events;
  const std::uint64_t txns = stats.transactions - start_stats.transactions;
  std::printf(
      "threads=%d seconds=%.2f events=%llu events/s=%.0f transactions=%llu "
      "mean_group=%.1f seals=%llu failures=%llu dir=%s\n",
      threads, elapsed, static_cast<unsigned long long>(events), events / elapsed,
      static_cast<unsigned long long>(txns), txns ? double(events) / double(txns) : 0.0,
      static_cast<unsigned long long>(stats.seals),
      static_cast<unsigned long long>(failures.load()), dir.c_str());

  // Verification speed, for the README.
  auto pub = audit::PublicKey::fromPem((*sink)->publicKey().pem());
  auto log = storage::AuditLog::open(options.db_path);
  if (pub && log) {
    const auto v0 = std::chrono::steady_clock::now();
    auto v = (*log)->verify(*pub);
    const double vt = std::chrono::duration<double>(std::chrono::steady_clock::now() - v0).count();
    if (v) {
      std::printf("verify: ok=%d records=%llu in %.2fs (%.0f records/s)\n", v->ok ? 1 : 0,
                  static_cast<unsigned long long>(v->records), vt, double(v->records) / vt);
    }
  }
  if (argc <= 3) std::filesystem::remove_all(dir);
  return failures.load() == 0 ? 0 : 2;
}
