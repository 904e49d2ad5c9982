#include "basalt/quota/in_memory_quota_ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace basalt::quota {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Injected time: a fixed origin well after the clock's epoch.
const TimePoint kT0 = TimePoint{} + std::chrono::hours(1000);

QuotaKeys keysFor(std::string_view principal, std::string_view model = {},
                  std::span<const std::string> groups = {}) {
  return QuotaKeys{principal, groups, model};
}

TEST(InMemoryQuotaLedger, NoRulesAdmitsWithEmptyTicket) {
  InMemoryQuotaLedger ledger;
  auto adm = ledger.admit(keysFor("alice"), 100, kT0);
  EXPECT_TRUE(adm.admitted);
  EXPECT_EQ(adm.ticket.rate().remaining_requests, -1);
  EXPECT_EQ(adm.ticket.rate().remaining_tokens, -1);
}

TEST(InMemoryQuotaLedger, RequestsPerMinuteExhaustsAndRefills) {
  InMemoryQuotaLedger ledger;
  ASSERT_TRUE(ledger.configure({{"alice", "", {.requests_per_minute = 3}}}));
  for (int i = 0; i < 3; ++i) {
    auto adm = ledger.admit(keysFor("alice"), 0, kT0);
    ASSERT_TRUE(adm.admitted) << i;
    EXPECT_EQ(adm.ticket.rate().limit_requests, 3);
    EXPECT_EQ(adm.ticket.rate().remaining_requests, 2 - i);
  }
  auto refused = ledger.admit(keysFor("alice"), 0, kT0);
  ASSERT_FALSE(refused.admitted);
  EXPECT_EQ(refused.rejection.limit, LimitKind::kRequests);
  EXPECT_EQ(refused.rejection.subject, "alice");
  EXPECT_EQ(refused.rejection.limit_value, 3);
  EXPECT_EQ(refused.rejection.retry_after_s, 20);  // one request refills every 20 s
  Error e = toError(refused.rejection);
  EXPECT_EQ(e.kind, ErrorKind::kRateLimited);
  EXPECT_EQ(e.retry_after_s, 20);

  // Other subjects are unaffected.
  EXPECT_TRUE(ledger.admit(keysFor("bob"), 0, kT0).admitted);

  // Continuous refill: 19.9 s is not enough for one request, 20 s is.
  EXPECT_FALSE(ledger.admit(keysFor("alice"), 0, kT0 + milliseconds(19900)).admitted);
  EXPECT_TRUE(ledger.admit(keysFor("alice"), 0, kT0 + seconds(20)).admitted);
  EXPECT_FALSE(ledger.admit(keysFor("alice"), 0, kT0 + seconds(20)).admitted);
  // A long pause refills to the capacity, never beyond it.
  const TimePoint later = kT0 + std::chrono::hours(2);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ledger.admit(keysFor("alice"), 0, later).admitted);
  EXPECT_FALSE(ledger.admit(keysFor("alice"), 0, later).admitted);
}

TEST(InMemoryQuotaLedger, TokensPerMinuteReserveAndSettle) {
  InMemoryQuotaLedger ledger;
  ASSERT_TRUE(ledger.configure({{"alice", "", {.tokens_per_minute = 1000}}}));
  {
    auto adm = ledger.admit(keysFor("alice"), 600, kT0);
    ASSERT_TRUE(adm.admitted);
    EXPECT_EQ(adm.ticket.rate().remaining_tokens, 400);
    EXPECT_EQ(ledger.usage("alice", "", kT0)->tokens_available, 400);
    // 600 reserved, 100 used: 500 come back.
    adm.ticket.settle(100, kT0);
    EXPECT_EQ(ledger.usage("alice", "", kT0)->tokens_available, 900);
    adm.ticket.settle(0, kT0);  // a second settle is ignored
    EXPECT_EQ(ledger.usage("alice", "", kT0)->tokens_available, 900);
  }
  {
    auto adm = ledger.admit(keysFor("alice"), 100, kT0);
    ASSERT_TRUE(adm.admitted);
    // Used more than reserved: the difference is charged, the quota goes into debt.
    adm.ticket.settle(1500, kT0);
    EXPECT_EQ(ledger.usage("alice", "", kT0)->tokens_available, -600);
  }
  auto refused = ledger.admit(keysFor("alice"), 1, kT0);
  ASSERT_FALSE(refused.admitted);
  EXPECT_EQ(refused.rejection.limit, LimitKind::kTokens);
  EXPECT_FALSE(refused.rejection.exceeds_limit);
  EXPECT_EQ(refused.rejection.retry_after_s, 37);  // 601 tokens at 1000/min = 36.06 s
  // Debt is paid off by refill.
  EXPECT_TRUE(ledger.admit(keysFor("alice"), 1, kT0 + seconds(37)).admitted);

  // A reservation larger than the whole limit never fits.
  auto huge = ledger.admit(keysFor("alice"), 1001, kT0 + std::chrono::hours(1));
  ASSERT_FALSE(huge.admitted);
  EXPECT_TRUE(huge.rejection.exceeds_limit);
}

TEST(InMemoryQuotaLedger, ConcurrencySlotsAreReleasedByRaii) {
  InMemoryQuotaLedger ledger;
  ASSERT_TRUE(ledger.configure({{"alice", "", {.concurrent_requests = 2}}}));
  {
    auto a = ledger.admit(keysFor("alice"), 0, kT0);
    auto b = ledger.admit(keysFor("alice"), 0, kT0);
    ASSERT_TRUE(a.admitted);
    ASSERT_TRUE(b.admitted);
    auto c = ledger.admit(keysFor("alice"), 0, kT0);
    ASSERT_FALSE(c.admitted);
    EXPECT_EQ(c.rejection.limit, LimitKind::kConcurrency);
    EXPECT_EQ(ledger.usage("alice", "", kT0)->in_flight, 2);
    a.ticket.release();
    a.ticket.release();  // idempotent
    EXPECT_EQ(ledger.usage("alice", "", kT0)->in_flight, 1);
    Ticket moved = std::move(b.ticket);
    EXPECT_EQ(ledger.usage("alice", "", kT0)->in_flight, 1);
  }
  EXPECT_EQ(ledger.usage("alice", "", kT0)->in_flight, 0);
  EXPECT_TRUE(ledger.admit(keysFor("alice"), 0, kT0).admitted);
  EXPECT_EQ(ledger.usage("alice", "", kT0)->in_flight, 0);
}

TEST(InMemoryQuotaLedger, AllApplicableQuotasAreCheckedAndRejectionRollsBack) {
  InMemoryQuotaLedger ledger;
  ASSERT_TRUE(ledger.configure({
      {"alice",
       "",
       {.requests_per_minute = 100, .tokens_per_minute = 10000, .concurrent_requests = 10}},
      {"team", "", {.requests_per_minute = 100}},
      {"team", "gpt", {.tokens_per_minute = 500}},
  }));
  const std::vector<std::string> groups = {"team"};
  // A model the model-specific quota does not cover.
  EXPECT_TRUE(ledger.admit(keysFor("alice", "claude", groups), 800, kT0).admitted);
  EXPECT_EQ(ledger.usage("alice", "", kT0)->tokens_available, 9200);

  auto ok = ledger.admit(keysFor("alice", "gpt", groups), 400, kT0);
  ASSERT_TRUE(ok.admitted);
  EXPECT_EQ(ok.ticket.rate().remaining_tokens, 100);  // the tightest quota: team/gpt
  EXPECT_EQ(ok.ticket.rate().limit_tokens, 500);
  EXPECT_EQ(ok.ticket.rate().remaining_requests, 98);  // alice and team: 2 taken each

  auto refused = ledger.admit(keysFor("alice", "gpt", groups), 200, kT0);
  ASSERT_FALSE(refused.admitted);
  EXPECT_EQ(refused.rejection.subject, "team");
  EXPECT_EQ(refused.rejection.model, "gpt");
  // Nothing stays taken from the quotas that had already admitted it.
  auto alice = ledger.usage("alice", "", kT0);
  EXPECT_EQ(alice->tokens_available, 8800);
  EXPECT_EQ(alice->requests_available, 98);
  EXPECT_EQ(alice->in_flight, 1);  // only `ok` holds a slot
  EXPECT_EQ(ledger.usage("team", "", kT0)->requests_available, 98);
  EXPECT_EQ(ledger.usage("team", "gpt", kT0)->tokens_available, 100);

  // Settling refunds every token quota the request took from.
  ok.ticket.settle(50, kT0);
  EXPECT_EQ(ledger.usage("alice", "", kT0)->tokens_available, 9150);
  EXPECT_EQ(ledger.usage("team", "gpt", kT0)->tokens_available, 450);
}

TEST(RateLimitHeaders, FollowOpenAiNamesAndDurations) {
  EXPECT_TRUE(rateLimitHeaders(RateInfo{}).empty());
  RateInfo r;
  r.limit_requests = 60;
  r.remaining_requests = 59;
  r.reset_requests_ms = 1000;
  r.limit_tokens = 150000;
  r.remaining_tokens = 149000;
  r.reset_tokens_ms = 360000;
  using H = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(rateLimitHeaders(r), (H{{"x-ratelimit-limit-requests", "60"},
                                    {"x-ratelimit-remaining-requests", "59"},
                                    {"x-ratelimit-reset-requests", "1s"},
                                    {"x-ratelimit-limit-tokens", "150000"},
                                    {"x-ratelimit-remaining-tokens", "149000"},
                                    {"x-ratelimit-reset-tokens", "6m0s"}}));
  r.limit_tokens = -1;
  r.reset_requests_ms = 20;
  EXPECT_EQ(rateLimitHeaders(r).size(), 3U);
  EXPECT_EQ(rateLimitHeaders(r)[2].second, "20ms");

  // From a real admission: 1 of 60/min taken, 1 s until full again.
  InMemoryQuotaLedger ledger;
  ASSERT_TRUE(ledger.configure({{"alice", "", {.requests_per_minute = 60}}}));
  auto adm = ledger.admit(keysFor("alice"), 0, kT0);
  ASSERT_TRUE(adm.admitted);
  EXPECT_EQ(adm.ticket.rate().reset_requests_ms, 1000);
  EXPECT_EQ(rateLimitHeaders(adm.ticket.rate())[1].second, "59");
}

TEST(InMemoryQuotaLedger, ValidationRejectsBadRules) {
  InMemoryQuotaLedger ledger;
  auto neg = ledger.configure({{"alice", "", {.requests_per_minute = -1}}});
  ASSERT_FALSE(neg);
  EXPECT_NE(neg.error().message.find("quotas[0].requests_per_minute"), std::string::npos);
  EXPECT_FALSE(ledger.configure({{"alice", "", {.tokens_per_minute = kMaxLimit + 1}}}));
  EXPECT_FALSE(ledger.configure({{"", "", {.requests_per_minute = 1}}}));
  auto dup = ledger.configure(
      {{"a", "m", {.requests_per_minute = 1}}, {"a", "m", {.requests_per_minute = 2}}});
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("quotas[1]"), std::string::npos);
  // A failed configure changes nothing.
  EXPECT_FALSE(ledger.usage("a", "m", kT0).has_value());
}

TEST(InMemoryQuotaLedger, ReconfigureKeepsStateOfUnchangedRules) {
  InMemoryQuotaLedger ledger;
  ASSERT_TRUE(ledger.configure({{"alice", "", {.requests_per_minute = 2}}}));
  EXPECT_TRUE(ledger.admit(keysFor("alice"), 0, kT0).admitted);
  EXPECT_TRUE(ledger.admit(keysFor("alice"), 0, kT0).admitted);
  ASSERT_TRUE(ledger.configure(
      {{"alice", "", {.requests_per_minute = 2}}, {"bob", "", {.requests_per_minute = 1}}}));
  EXPECT_FALSE(ledger.admit(keysFor("alice"), 0, kT0).admitted);
  ASSERT_TRUE(ledger.configure({{"alice", "", {.requests_per_minute = 3}}}));
  EXPECT_TRUE(ledger.admit(keysFor("alice"), 0, kT0).admitted);  // new limit: fresh bucket
  ASSERT_TRUE(ledger.configure({}));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(ledger.admit(keysFor("alice"), 0, kT0).admitted);
}

TEST(InMemoryQuotaLedger, HammeringFromManyThreadsKeepsCountsExact) {
  InMemoryQuotaLedger ledger;
  constexpr int kThreads = 8;
  constexpr int kAttempts = 20000;
  constexpr std::int64_t kRequests = 5000;
  constexpr std::int64_t kTokens = 1'000'000;
  ASSERT_TRUE(ledger.configure(
      {{"svc",
        "",
        {.requests_per_minute = kRequests, .tokens_per_minute = kTokens, .concurrent_requests = 3}},
       {"grp", "", {.requests_per_minute = kRequests * 10}}}));
  const std::vector<std::string> groups = {"grp"};
  std::atomic<std::int64_t> admitted{0};
  std::atomic<std::int64_t> used{0};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> max_in_flight{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAttempts; ++i) {
        auto adm = ledger.admit(QuotaKeys{"svc", groups, "m"}, 100, kT0);  // frozen time
        if (!adm.admitted) continue;
        const auto now = in_flight.fetch_add(1) + 1;
        auto prev = max_in_flight.load();
        while (now > prev && !max_in_flight.compare_exchange_weak(prev, now)) {
        }
        const std::int64_t actual = 1 + (i + t) % 150;  // refunds and charges
        adm.ticket.settle(actual, kT0);
        used.fetch_add(actual);
        admitted.fetch_add(1);
        in_flight.fetch_sub(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto svc = ledger.usage("svc", "", kT0);
  ASSERT_TRUE(svc);
  EXPECT_EQ(svc->in_flight, 0);
  EXPECT_LE(max_in_flight.load(), 3);
  EXPECT_EQ(svc->requests_available, kRequests - admitted.load());
  EXPECT_EQ(svc->tokens_available, kTokens - used.load());
  // Requests refused by svc's concurrency or rate limit were rolled back from the group's quota.
  EXPECT_EQ(ledger.usage("grp", "", kT0)->requests_available, kRequests * 10 - admitted.load());
  EXPECT_GT(admitted.load(), 0);
}

TEST(InMemoryQuotaLedger, ReconfigureWhileAdmitting) {
  InMemoryQuotaLedger ledger;
  ASSERT_TRUE(ledger.configure({{"svc", "", {.concurrent_requests = 2}}}));
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        auto adm = ledger.admit(keysFor("svc"), 10, kT0);
        if (adm.admitted) admitted.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(ledger.configure({{"svc", "", {.concurrent_requests = 1 + i % 3}},
                                  {"other", "", {.requests_per_minute = 1 + i}}}));
  }
  // On a loaded machine the admitting threads may not have run yet: give them a moment.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (admitted.load() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(ledger.usage("svc", "", kT0)->in_flight, 0);
}

TEST(InMemoryQuotaLedger, ExactRequestCountUnderContention) {
  InMemoryQuotaLedger ledger;
  constexpr std::int64_t kLimit = 10007;
  ASSERT_TRUE(ledger.configure({{"svc", "", {.requests_per_minute = kLimit}}}));
  std::atomic<std::int64_t> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        if (ledger.admit(keysFor("svc"), 0, kT0).admitted) admitted.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), kLimit);
}

}  // namespace
}  // namespace basalt::quota
