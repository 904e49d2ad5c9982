#pragma once
// Plain-socket helpers for the egress tests: a tiny HTTP origin on 127.0.0.1 and a blocking
// client for the proxy's unix socket. Every read is bounded (SO_RCVTIMEO).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace basalt::egress::testing {

inline void setTimeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

inline bool sendAll(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

/// Reads until `stop` appears (when given), end of file, an error or the timeout.
inline std::string recvUntil(int fd, const std::string& stop = {}) {
  std::string out;
  char buf[4096];
  for (;;) {
    if (!stop.empty() && out.find(stop) != std::string::npos) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

/// An HTTP/1.1 origin: answers every request with 200 "hello from origin" and closes. Records
/// each request head.
class Origin {
 public:
  Origin() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~Origin() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    for (auto& t : handlers_) t.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  std::vector<std::string> heads() {
    std::lock_guard lock(mu_);
    return heads_;
  }

 private:
  void loop() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0 || stop_) {
        if (c >= 0) ::close(c);
        return;
      }
      ++accepted_;
      handlers_.emplace_back([this, c] {
        setTimeouts(c, 10);
        std::string head = recvUntil(c, "\r\n\r\n");
        if (!head.empty()) {
          {
            std::lock_guard lock(mu_);
            heads_.push_back(head);
          }
          sendAll(c,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n"
                  "Connection: close\r\n\r\nhello from origin");
        }
        ::close(c);
      });
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<std::thread> handlers_;
  std::mutex mu_;
  std::vector<std::string> heads_;
};

/// A connected client of the proxy's unix socket (closed on destruction).
struct UnixClient {
  int fd = -1;
  explicit UnixClient(const std::string& path, int timeout_s = 10) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      fd = -1;
    } else {
      setTimeouts(fd, timeout_s);
    }
  }
  ~UnixClient() {
    if (fd >= 0) ::close(fd);
  }
  UnixClient(const UnixClient&) = delete;
  UnixClient& operator=(const UnixClient&) = delete;
};

}  // namespace basalt::egress::testing
