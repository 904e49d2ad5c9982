#pragma once
// HTTP/2 (RFC 9113) over an established stream, with libnghttp2 doing the framing, HPACK and
// flow-control bookkeeping: h2c with prior knowledge on plain TCP, ALPN "h2" under TLS. Every
// stream becomes an HttpRequest for the same Handler as HTTP/1.1, answered through a per-stream
// Responder. Implementation (and the only nghttp2 include) in http2_session.cc.

#include "basalt/core/async.h"
#include "http1_session.h"  // TcpStream, TlsStream
#include "worker.h"

#include <boost/beast/core/flat_buffer.hpp>

#include <string>

namespace basalt::server {

/// Serves HTTP/2 streams until the connection ends. `buffer` holds bytes already read (the
/// client preface when sniffed on plain TCP). Each stream's handler runs as its own coroutine
/// on the connection's executor with its own cancellation signal: RST_STREAM from the client,
/// a dead connection or the end of the shutdown grace period emit terminal cancellation.
Task<void> runHttp2Session(Worker& worker, TcpStream stream, boost::beast::flat_buffer buffer,
                           std::string remote_ip);
Task<void> runHttp2Session(Worker& worker, TlsStream stream, boost::beast::flat_buffer buffer,
                           std::string remote_ip);

}  // namespace basalt::server
