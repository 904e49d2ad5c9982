#pragma once
// HTTP/1.1 (and 1.0) over an established stream: keep-alive, pipelining (one request at a
// time, answered in order), limits, timeouts, the Responder the handler answers through, and
// client-disconnect detection while the handler runs. Implementation in http1_session.cc.

#include "basalt/core/async.h"
#include "worker.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <string>

namespace basalt::server {

using TcpStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

/// Serves requests until the connection closes. `buffer` holds bytes already read from the
/// stream (protocol sniffing); `remote_ip` goes into every HttpRequest.
Task<void> runHttp1Session(Worker& worker, TcpStream stream, boost::beast::flat_buffer buffer,
                           std::string remote_ip);
Task<void> runHttp1Session(Worker& worker, TlsStream stream, boost::beast::flat_buffer buffer,
                           std::string remote_ip);

}  // namespace basalt::server
