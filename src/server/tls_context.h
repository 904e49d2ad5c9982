#pragma once
// The server's TLS context: certificate chain, key, optional client CA (mTLS), TLS 1.2+, ALPN.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"

#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace basalt::server {

/// Builds the context from settings.tls_cert / tls_key / client_ca. Fails with a message that
/// names the setting, the file and OpenSSL's reason. ALPN offers "http/1.1" only until the
/// HTTP/2 session exists.
Result<std::unique_ptr<boost::asio::ssl::context>> makeTlsContext(
    const config::ServerSettings& settings);

}  // namespace basalt::server
