#pragma once
// The protocol-neutral front of a connection: TLS handshake and ALPN, or sniffing the first
// bytes of plain TCP, then handing the stream to the session that speaks that protocol
// (Http1Session today; an Http2Session for ALPN "h2" / h2c prior knowledge later).

#include "basalt/core/async.h"
#include "worker.h"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace basalt::server {

/// Serves one accepted connection until it closes. Counts it in basalt_open_connections.
/// The caller co_spawns it with `cancel`'s slot bound (see runHttp1Session).
Task<void> serveConnection(Worker& worker, boost::asio::ip::tcp::socket socket,
                           boost::asio::cancellation_signal& cancel);

}  // namespace basalt::server
