#include "basalt/audit/async_append.h"

#include "audit/audit_fixture.h"
#include "basalt/core/async.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <thread>

namespace basalt::audit {
namespace {

// A sink that completes on another thread, like the SQLite writer.
class ThreadSink final : public AuditSink {
 public:
  ~ThreadSink() override {
    for (auto& t : threads_) t.join();
  }
  void append(AuditEvent event, AppendCallback done) override {
    const std::uint64_t seq = ++next_;
    const bool fail = event.event_name == "fail";
    threads_.emplace_back([done = std::move(done), seq, fail] {
      if (fail) {
        done(Error::internal("disk on fire"));
      } else {
        done(seq);
      }
    });
  }
  bool healthy() const override { return true; }

 private:
  std::uint64_t next_ = 0;
  std::vector<std::thread> threads_;
};

struct Outcome {
  std::vector<Result<std::uint64_t>> results;
  std::vector<std::thread::id> resumed_on;
};

Task<void> appendTwo(AuditSink& sink, Outcome& out) {
  AuditEvent ok = basalt::testing::sampleEvent("alice", 1);
  Result<std::uint64_t> first = co_await asyncAppend(sink, ok, boost::asio::use_awaitable);
  out.results.push_back(first);
  out.resumed_on.push_back(std::this_thread::get_id());
  AuditEvent bad;
  bad.event_name = "fail";
  Result<std::uint64_t> second = co_await asyncAppend(sink, bad, boost::asio::use_awaitable);
  out.results.push_back(second);
  out.resumed_on.push_back(std::this_thread::get_id());
}

TEST(AsyncAppend, ResumesOnTheCallersExecutorWithTheResult) {
  boost::asio::io_context io;
  ThreadSink sink;
  Outcome out;
  boost::asio::co_spawn(io, appendTwo(sink, out), boost::asio::detached);
  io.run();
  ASSERT_EQ(out.results.size(), 2U);
  ASSERT_TRUE(out.results[0].has_value());
  EXPECT_EQ(*out.results[0], 1U);
  ASSERT_FALSE(out.results[1].has_value());
  EXPECT_EQ(out.results[1].error().message, "disk on fire");
  for (const auto& id : out.resumed_on) EXPECT_EQ(id, std::this_thread::get_id());
}

}  // namespace
}  // namespace basalt::audit
