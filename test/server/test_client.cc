#include "test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace basalt::server::testing {

TestClient::TestClient(std::uint16_t port, bool tls, const std::string& client_cert,
                       const std::string& client_key)
    : tls_(tls) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{5, 0};  // bounds the blocking TLS handshake
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!tls_) return;
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof kAlpn);
  if (!client_cert.empty()) {
    SSL_CTX_use_certificate_chain_file(ctx_, client_cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx_, client_key.c_str(), SSL_FILETYPE_PEM);
  }
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd_);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_connect(ssl) == 1) {
    ssl_ = ssl;
  } else {
    SSL_free(ssl);
  }
}

TestClient::~TestClient() {
  close();
}

void TestClient::close() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ctx_ != nullptr) {
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void TestClient::closeTlsPolitely() {
  if (ssl_ != nullptr) SSL_shutdown(ssl_);
  close();
}

std::string TestClient::alpn() const {
  if (ssl_ == nullptr) return {};
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl_, &p, &n);
  return std::string(reinterpret_cast<const char*>(p), n);
}

void TestClient::setSendTimeout(milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool TestClient::send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = 0;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
    } else {
      n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    }
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

int TestClient::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_ || fd_ < 0) return 0;
  if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return -1;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) return -1;
  }
  char buf[16384];
  ssize_t n = 0;
  if (ssl_ != nullptr) {
    n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) {
      const int err = SSL_get_error(ssl_, static_cast<int>(n));
      if (err == SSL_ERROR_WANT_READ) return 1;  // e.g. a session ticket: no data yet
      eof_ = true;
      return 0;
    }
  } else {
    n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;  // EOF or reset
      return 0;
    }
  }
  buffer_.append(buf, static_cast<std::size_t>(n));
  return 1;
}

bool TestClient::waitClosed(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const int r = fill(deadline);
    if (r == 0) return true;
    if (r < 0) return false;
  }
}

std::optional<Response> TestClient::readResponse(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto need = [&](auto predicate) {
    while (!predicate()) {
      if (fill(deadline) <= 0) return predicate();
    }
    return true;
  };
  if (!need([&] { return buffer_.find("\r\n\r\n") != std::string::npos; })) return std::nullopt;
  const std::size_t head_end = buffer_.find("\r\n\r\n");
  const std::string head = buffer_.substr(0, head_end);
  buffer_.erase(0, head_end + 4);

  Response response;
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return std::nullopt;
  response.status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    response.headers[name] = line.substr(v);
  }
  if (response.status == 100) return readResponse(timeout);

  if (const auto te = response.headers.find("transfer-encoding");
      te != response.headers.end() && te->second == "chunked") {
    for (;;) {
      if (!need([&] { return buffer_.find("\r\n") != std::string::npos; })) return std::nullopt;
      const std::size_t eol = buffer_.find("\r\n");
      const std::size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
      if (!need([&] { return buffer_.size() >= eol + 2 + size + 2; })) return std::nullopt;
      if (size == 0) {
        buffer_.erase(0, eol + 4);
        return response;
      }
      response.chunks.push_back(buffer_.substr(eol + 2, size));
      response.body += response.chunks.back();
      buffer_.erase(0, eol + 2 + size + 2);
    }
  }
  if (auto it = response.headers.find("content-length"); it != response.headers.end()) {
    const std::size_t length = std::stoul(it->second);
    if (!need([&] { return buffer_.size() >= length; })) return std::nullopt;
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }
  if (response.status == 204 || response.status == 304) return response;
  need([] { return false; });  // until EOF
  response.body = std::move(buffer_);
  buffer_.clear();
  return response;
}

std::string request(std::string_view method, std::string_view target,
                    std::string_view extra_headers, std::string_view body) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nhost: test\r\n");
  out.append(extra_headers);
  if (!body.empty() || method == "POST") {
    out.append("content-length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n").append(body);
  return out;
}

}  // namespace basalt::server::testing
