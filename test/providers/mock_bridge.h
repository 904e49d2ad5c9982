#pragma once
// Serves `basalt mock-upstream`'s handler (MockUpstream) behind a FakeUpstream, so provider
// tests get the mock's vendor dialects (Azure deployments, Bedrock event streams, scripted
// tool calls and errors via `#mock` directives) over a real loopback socket without the
// gateway's server module. The fake's thread runs the handler to completion per request.

#include "basalt/core/exchange.h"
#include "basalt/mock/mock_upstream.h"
#include "fakes/fake_responder.h"
#include "fakes/fake_upstream.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>

namespace basalt::testing {

class MockBridge {
 public:
  MockBridge()
      : mock_(std::make_shared<mock::MockUpstream>()),
        fake_([mock = mock_](const FakeRequest& r) { return serve(*mock, r); }) {}

  const FakeUpstream& fake() const { return fake_; }
  std::string url(std::string_view path = "") const { return fake_.url(path); }

 private:
  static FakeReply serve(mock::MockUpstream& mock, const FakeRequest& r) {
    HttpRequest req;
    req.method = r.method;
    req.target = r.target;
    req.headers = r.headers;
    req.body = r.body;
    FakeResponder responder;
    boost::asio::io_context ioc;
    boost::asio::co_spawn(ioc, mock.handle(req, responder), boost::asio::detached);
    ioc.run();
    FakeReply out;
    out.status = responder.status;
    out.headers = responder.headers;
    if (responder.streaming) {
      out.chunks = responder.chunks;
      out.truncate = !responder.complete;  // the handler gave up mid-stream
    } else {
      out.body = responder.body;
    }
    return out;
  }

  std::shared_ptr<mock::MockUpstream> mock_;
  FakeUpstream fake_;
};

}  // namespace basalt::testing
