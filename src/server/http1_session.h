#pragma once
// HTTP/1.1 (and 1.0) over an established stream: keep-alive, pipelining (one request at a
// time, answered in order), limits, timeouts, the Responder the handler answers through, and
// client-disconnect detection while the handler runs. Implementation in http1_session.cc.

#include "basalt/core/async.h"
#include "worker.h"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <string>

namespace basalt::server {

// Plain Asio streams: timeouts are per-connection deadlines enforced by the worker's tick, not
// per-operation timers (beast::tcp_stream), which cost an allocation and timer-queue work on
// every read and write.
using TcpStream = boost::asio::ip::tcp::socket;
using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

/// Serves requests until the connection closes. `buffer` holds bytes already read from the
/// stream (protocol sniffing); `remote_ip` goes into every HttpRequest. `cancel` is bound to
/// the calling coroutine's cancellation slot: the session emits it (terminal) to cancel a
/// running handler when the client disconnects or the shutdown grace period ends.
Task<void> runHttp1Session(Worker& worker, TcpStream stream, boost::beast::flat_buffer buffer,
                           std::string remote_ip, boost::asio::cancellation_signal& cancel);
Task<void> runHttp1Session(Worker& worker, TlsStream stream, boost::beast::flat_buffer buffer,
                           std::string remote_ip, boost::asio::cancellation_signal& cancel);

}  // namespace basalt::server
