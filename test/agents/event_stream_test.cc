// The SSE event stream: replay after Last-Event-ID, live events through the EventHub,
// keep-alive pings, the end when the client leaves, and the hub's slow-subscriber rule.

#include "api_fixture.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>
#include <thread>
#include <tuple>

namespace basalt::agents::testing {
namespace {

using namespace std::chrono_literals;

// Plain coroutine functions rather than coroutine lambdas (GCC 12, see briefs).
Task<void> handleThenFlag(pipeline::Router& router, HttpRequest& req,
                          basalt::testing::FakeResponder& resp, bool& finished) {
  co_await router.handle(req, resp);
  finished = true;
}

Task<void> nextInto(EventHub::Subscription& sub, std::chrono::milliseconds timeout,
                    EventHub::Subscription::Next& out) {
  out = co_await sub.next(timeout);
}

Task<void> nextTwo(EventHub::Subscription& a, EventHub::Subscription& b,
                   EventHub::Subscription::Next& out_a, EventHub::Subscription::Next& out_b) {
  out_a = co_await a.next(std::chrono::seconds(1));
  out_b = co_await b.next(std::chrono::seconds(1));
}

class EventStreamTest : public AgentsApiFixture {
 protected:
  HttpRequest streamRequest(const std::string& session, const std::string& last_event_id = {},
                            const std::string& principal = "alice") {
    HttpRequest req;
    req.method = "GET";
    req.target = "/v1/sessions/" + session + "/events/stream";
    req.remote_ip = "127.0.0.1";
    req.headers.push_back({"authorization", "Bearer " + principal});
    if (!last_event_id.empty()) req.headers.push_back({"last-event-id", last_event_id});
    return req;
  }

  /// Runs `io` until `done` or 5 s.
  static void runUntil(boost::asio::io_context& io, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(10ms);
      if (io.stopped()) io.restart();
    }
  }

  std::vector<SessionEvent> appendMessages(const std::string& session, int n) {
    std::vector<NewEvent> events;
    for (int i = 0; i < n; ++i) {
      events.push_back(NewEvent{
          "agent.message",
          R"({"content":[{"type":"text","text":"m)" + std::to_string(i) + R"("}]})", "", true});
    }
    auto r = store_->appendEvents(session, events);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<SessionEvent>{};
  }
};

TEST_F(EventStreamTest, ReplaysAfterLastEventIdThenDeliversLiveEvents) {
  const std::string session = createSession();
  std::vector<SessionEvent> before = appendMessages(session, 3);
  ASSERT_EQ(before.size(), 3U);

  HttpRequest req = streamRequest(session, before[0].id);
  basalt::testing::FakeResponder resp;
  resp.gone_after_writes = 3;  // two replayed events, one live one; then the client leaves
  boost::asio::io_context io;
  bool finished = false;
  boost::asio::co_spawn(io, handleThenFlag(router_, req, resp, finished), boost::asio::detached);
  runUntil(io, [&] { return resp.chunks.size() == 2; });
  ASSERT_EQ(resp.status, 200);
  ASSERT_TRUE(resp.streaming);
  EXPECT_EQ(*resp.header("content-type"), "text/event-stream");
  ASSERT_EQ(resp.chunks.size(), 2U);
  EXPECT_EQ(resp.chunks[0].rfind("event: agent.message\nid: " + before[1].id + "\ndata: {", 0), 0U)
      << resp.chunks[0];
  EXPECT_NE(resp.chunks[1].find("\"m2\""), std::string::npos);
  EXPECT_EQ(hub_.subscriberCount(session), 1U);

  std::vector<SessionEvent> live = appendMessages(session, 1);  // published through the hub
  runUntil(io, [&] { return finished; });
  EXPECT_TRUE(finished);
  ASSERT_EQ(resp.chunks.size(), 3U);
  EXPECT_NE(resp.chunks[2].find("id: " + live[0].id), std::string::npos);
  EXPECT_NE(resp.chunks[2].find("\"processed_at\":\""), std::string::npos);
  EXPECT_EQ(hub_.subscriberCount(session), 0U);  // the stream unsubscribed on the way out
}

TEST_F(EventStreamTest, WithoutResumePointStartsNowAndPings) {
  const std::string session = createSession();
  appendMessages(session, 2);  // history: not replayed
  ctx_->keepalive = 20ms;
  HttpRequest req = streamRequest(session);
  basalt::testing::FakeResponder resp;
  resp.gone_after_writes = 2;
  boost::asio::io_context io;
  bool finished = false;
  boost::asio::co_spawn(io, handleThenFlag(router_, req, resp, finished), boost::asio::detached);
  runUntil(io, [&] { return finished; });
  ASSERT_TRUE(finished);
  ASSERT_EQ(resp.chunks.size(), 2U);
  EXPECT_EQ(resp.chunks[0], "event: ping\ndata: {\"type\":\"ping\"}\n\n");
}

TEST_F(EventStreamTest, EndsWhenTheSessionIsDeleted) {
  const std::string session = createSession();
  ctx_->keepalive = 20ms;
  HttpRequest req = streamRequest(session);
  basalt::testing::FakeResponder resp;
  boost::asio::io_context io;
  bool finished = false;
  boost::asio::co_spawn(io, handleThenFlag(router_, req, resp, finished), boost::asio::detached);
  runUntil(io, [&] { return !resp.chunks.empty(); });  // a ping: the stream is live
  ASSERT_TRUE(store_->deleteSession(Access{"alice", false}, session));
  runUntil(io, [&] { return finished; });
  EXPECT_TRUE(finished);
  EXPECT_TRUE(resp.complete);
}

TEST_F(EventStreamTest, RefusesOtherPrincipalsAndUnknownResumePoints) {
  const std::string session = createSession();
  for (auto [principal, last, status] :
       {std::tuple<std::string, std::string, int>{"bob", "", 404},
        std::tuple<std::string, std::string, int>{"alice", "sevt_unknown", 400}}) {
    HttpRequest req = streamRequest(session, last, principal);
    basalt::testing::FakeResponder resp;
    boost::asio::io_context io;
    boost::asio::co_spawn(io, router_.handle(req, resp), boost::asio::detached);
    io.run();
    EXPECT_EQ(resp.status, status) << principal;
    EXPECT_FALSE(resp.streaming);
    EXPECT_NE(resp.body.find("\"type\":\"error\""), std::string::npos);
  }
}

TEST(EventHubTest, SlowSubscriberIsDroppedNotTheWriter) {
  EventHub hub(4);
  boost::asio::io_context io;
  auto slow = hub.subscribe(io.get_executor(), "s1");
  auto other = hub.subscribe(io.get_executor(), "s2");
  for (int i = 1; i <= 10; ++i) hub.publish("s1", i);  // never blocks
  hub.publish("s2", 7);
  EventHub::Subscription::Next a, b;
  boost::asio::co_spawn(io, nextTwo(*slow, *other, a, b), boost::asio::detached);
  io.run_for(2s);
  EXPECT_EQ(a.wake, EventHub::Subscription::Wake::kDropped);
  EXPECT_EQ(b.wake, EventHub::Subscription::Wake::kEvents);
  EXPECT_EQ(b.seq, 7);
  EXPECT_EQ(hub.subscriberCount("s1"), 1U);
  slow.reset();
  EXPECT_EQ(hub.subscriberCount("s1"), 0U);
}

TEST(EventHubTest, WakesAWaiterFromAnotherThread) {
  EventHub hub;
  boost::asio::io_context io;
  auto sub = hub.subscribe(io.get_executor(), "s");
  EventHub::Subscription::Next got;
  boost::asio::co_spawn(io, nextInto(*sub, 10s, got), boost::asio::detached);
  std::thread publisher([&] {
    std::this_thread::sleep_for(20ms);
    hub.publish("s", 42);
  });
  const auto start = std::chrono::steady_clock::now();
  io.run();
  publisher.join();
  EXPECT_EQ(got.wake, EventHub::Subscription::Wake::kEvents);
  EXPECT_EQ(got.seq, 42);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace basalt::agents::testing
