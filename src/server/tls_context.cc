#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <string>

namespace basalt::server {
namespace {

namespace ssl = boost::asio::ssl;

// Protocols we can serve, in ALPN wire format and order of preference.
constexpr unsigned char kAlpnProtocols[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnProtocols, sizeof kAlpnProtocols, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    // No overlap: carry on without ALPN and speak HTTP/1.1 (what old clients expect).
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string opensslReason(const boost::system::error_code& ec) {
  std::string reason = ec.message();
  const unsigned long e = ERR_peek_last_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;
  }
  ERR_clear_error();
  return reason;
}

Error tlsError(std::string_view key, const std::string& path, const std::string& reason) {
  return Error::invalid("server." + std::string(key) + " '" + path + "': " + reason);
}

}  // namespace

Result<std::unique_ptr<ssl::context>> makeTlsContext(const config::ServerSettings& settings) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);  // idle TLS connections hold no buffers

  boost::system::error_code ec;
  ERR_clear_error();
  ctx->use_certificate_chain_file(settings.tls_cert, ec);
  if (ec) return tlsError("tls_cert", settings.tls_cert, opensslReason(ec));
  ctx->use_private_key_file(settings.tls_key, ssl::context::pem, ec);
  if (ec) return tlsError("tls_key", settings.tls_key, opensslReason(ec));
  if (SSL_CTX_check_private_key(native) != 1) {
    return tlsError("tls_key", settings.tls_key,
                    "does not match the certificate in server." + std::string("tls_cert"));
  }
  if (!settings.client_ca.empty()) {
    ctx->load_verify_file(settings.client_ca, ec);
    if (ec) return tlsError("client_ca", settings.client_ca, opensslReason(ec));
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // Without a session id context OpenSSL refuses to resume sessions of verified clients.
    static constexpr unsigned char kSessionContext[] = "basalt";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  }
  SSL_CTX_set_alpn_select_cb(native, &selectAlpn, nullptr);
  return ctx;
}

}  // namespace basalt::server
