#pragma once
/// AuditSink::append as an Asio asynchronous operation, for the request pipeline:
///
///   Result<std::uint64_t> seq = co_await audit::asyncAppend(sink, std::move(event),
///                                                           boost::asio::use_awaitable);
///
/// The sink's callback runs on its writer thread; this posts the completion back to the
/// awaiting coroutine's executor, so the coroutine resumes on its own thread. Header-only and
/// a template, so only code that uses it pays for Asio. There is no cancellation: once queued,
/// a record is written whatever happens to the request, and the wait is as long as one group
/// commit.

#include "basalt/audit/audit_sink.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <utility>

namespace basalt::audit {

namespace detail {
struct AsyncAppendInitiation {
  AuditSink* sink;

  template <class Handler>
  void operator()(Handler&& handler, AuditEvent event) const {
    using H = std::decay_t<Handler>;
    auto ex = boost::asio::get_associated_executor(handler);
    // AppendCallback is a std::function (copyable); the handler may be move-only.
    auto shared = std::make_shared<H>(std::forward<Handler>(handler));
    sink->append(std::move(event), [shared, ex](Result<std::uint64_t> r) {
      boost::asio::post(ex, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
    });
  }
};
}  // namespace detail

template <class CompletionToken>
auto asyncAppend(AuditSink& sink, AuditEvent event, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(Result<std::uint64_t>)>(
      detail::AsyncAppendInitiation{&sink}, token, std::move(event));
}

}  // namespace basalt::audit
