#include "basalt/egress/egress_proxy.h"

#include "basalt/core/async.h"
#include "basalt/core/http_status.h"
#include "basalt/core/log.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace basalt::egress {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using UnixSocket = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

/// A complete refusal: plain-text body naming the proxy, and the connection closes after it.
std::string refusal(int status, std::string_view message) {
  std::string body = "basalt egress proxy: ";
  body += message;
  body += "\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reasonPhrase(status)) +
                    "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                    std::to_string(body.size()) +
                    "\r\nConnection: close\r\nX-Basalt-Egress: refused\r\n\r\n";
  out += body;
  return out;
}

/// `host:port` (port required when `default_port` is 0). IPv6 literals are refused by the
/// allow-list later; they come back with host "[...]" so the message can show them.
bool splitAuthority(std::string_view authority, std::uint16_t default_port, std::string& host,
                    std::uint16_t& port) {
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  std::string_view h = authority;
  std::string_view p;
  if (authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    h = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      p = after.substr(1);
    }
  } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    h = authority.substr(0, colon);
    p = authority.substr(colon + 1);
  }
  if (h.empty()) return false;
  if (p.empty()) {
    if (default_port == 0) return false;
    port = default_port;
  } else {
    if (p.size() > 5) return false;
    unsigned value = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
  }
  host.clear();
  for (char c : h) host += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return true;
}

struct RequestHead {
  std::string method;
  std::string target;
  std::string version;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Parses the request line and header fields of `head` (which ends with CRLF CRLF). Strict:
/// control characters, obsolete line folding and fields without a colon are errors.
bool parseHead(std::string_view head, RequestHead& out) {
  std::size_t pos = 0;
  bool first = true;
  while (pos < head.size()) {
    std::size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) return false;
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
    }
    if (first) {
      first = false;
      std::size_t sp1 = line.find(' ');
      std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        return false;
      }
      out.method = std::string(line.substr(0, sp1));
      out.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
      out.version = std::string(line.substr(sp2 + 1));
      if (out.method.empty() || out.target.empty() || !out.version.starts_with("HTTP/1.")) {
        return false;
      }
      for (char c : out.method) {
        if (!((c >= 'A' && c <= 'Z') || c == '-' || c == '_')) return false;
      }
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') return false;  // obs-fold
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    out.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return !first;
}

}  // namespace

struct EgressProxy::Impl {
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
};

class Connection;

struct Listener::State : std::enable_shared_from_this<Listener::State> {
  State(asio::io_context& io, ListenOptions o, const ProxyLimits& l)
      : io(io), acceptor(io), opts(std::move(o)), limits(l) {}

  Task<void> acceptLoop(std::shared_ptr<State> self);
  void close();
  void decide(Decision d) {
    d.session_id = opts.session_id;
    if (d.method.empty()) d.method = "-";  // refused before the request line was read
    if (d.allowed) {
      log::info("egress: session {} {} {}:{} allowed", d.session_id, d.method, d.host, d.port);
    } else {
      log::info("egress: session {} {} {}:{} refused ({}): {}", d.session_id, d.method, d.host,
                d.port, d.status, d.reason);
    }
    if (opts.observer) opts.observer(d);
    if (opts.record && !d.allowed) opts.record(d, [](bool) {});  // refused either way
  }

  asio::io_context& io;
  UnixSocket::acceptor acceptor;
  /// For callbacks from other threads (the audit writer): posting is safe only while the proxy,
  /// and so its io_context, exists.
  std::weak_ptr<EgressProxy> proxy;
  ListenOptions opts;
  ProxyLimits limits;
  std::size_t active = 0;
  bool closed = false;
  ino_t ino = 0;  ///< of the socket file, so the destructor removes only its own
  std::vector<std::weak_ptr<Connection>> conns;
};

/// One client connection: head, decision, then a tunnel or a single forwarded request.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<Listener::State> st, UnixSocket::socket client)
      : st_(std::move(st)),
        client_(std::move(client)),
        upstream_(client_.get_executor()),
        resolver_(client_.get_executor()),
        deadline_(client_.get_executor()),
        idle_(client_.get_executor()) {
    ++st_->active;
  }
  ~Connection() { --st_->active; }

  Task<void> run(std::shared_ptr<Connection> self);
  void close() {
    closed_ = true;
    boost::system::error_code ig;
    client_.close(ig);
    upstream_.close(ig);
    resolver_.cancel();
    deadline_.cancel();
    idle_.cancel();
  }

 private:
  /// After `d`, the deadline closes the client (head phase) or aborts the connect.
  void arm(std::chrono::milliseconds d) {
    deadline_.expires_after(d);
    deadline_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      auto self = w.lock();
      if (!self) return;
      if (self->connecting_) {
        self->connect_timed_out_ = true;
        self->resolver_.cancel();
        boost::system::error_code ig;
        self->upstream_.close(ig);
      } else {
        self->close();
      }
    });
  }
  void watchIdle() {
    idle_.expires_at(last_activity_ + st_->limits.idle_timeout);
    idle_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      auto self = w.lock();
      if (!self || self->closed_) return;
      if (Clock::now() - self->last_activity_ >= self->st_->limits.idle_timeout) {
        self->close();
      } else {
        self->watchIdle();
      }
    });
  }
  Task<void> answer(std::string response) {
    auto [ec, n] = co_await asio::async_write(client_, asio::buffer(response), kUseTuple);
    (void)n;
    if (!ec) {
      boost::system::error_code ig;
      client_.shutdown(asio::socket_base::shutdown_send, ig);
    }
    close();
  }
  Task<void> refuse(Decision d, std::string message) {
    d.allowed = false;
    d.reason = message;
    st_->decide(d);
    co_await answer(refusal(d.status, message));
  }
  /// Resolves and connects the upstream socket; false (and answered) on failure.
  Task<bool> openUpstream(Decision& d);
  /// ListenOptions::record for an allowed decision: whether it was recorded.
  Task<bool> record(const Decision& d);
  template <class From, class To>
  Task<void> pump(std::shared_ptr<Connection> self, From& from, To& to);

  std::shared_ptr<Listener::State> st_;
  UnixSocket::socket client_;
  tcp::socket upstream_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  asio::steady_timer idle_;
  std::string buf_;
  Clock::time_point last_activity_ = Clock::now();
  bool closed_ = false;
  bool connecting_ = false;
  bool connect_timed_out_ = false;
  int eofs_ = 0;
};

Task<bool> Connection::openUpstream(Decision& d) {
  connecting_ = true;
  arm(st_->limits.connect_timeout);
  auto [rec, results] = co_await resolver_.async_resolve(d.host, std::to_string(d.port),
                                                         tcp::resolver::numeric_service, kUseTuple);
  boost::system::error_code cec = rec;
  if (!rec) {
    auto [ec, endpoint] = co_await asio::async_connect(upstream_, results, kUseTuple);
    (void)endpoint;
    cec = ec;
  }
  connecting_ = false;
  deadline_.cancel();
  if (closed_) co_return false;
  if (connect_timed_out_) {
    d.status = 504;
    co_await refuse(d, "connecting to " + d.host + ":" + std::to_string(d.port) + " timed out");
    co_return false;
  }
  if (cec) {
    d.status = 502;
    co_await refuse(d, std::string(rec ? "cannot resolve " : "cannot connect to ") + d.host + ":" +
                           std::to_string(d.port) + ": " + cec.message());
    co_return false;
  }
  co_return true;
}

Task<bool> Connection::record(const Decision& d) {
  struct Wait {
    explicit Wait(const asio::any_io_executor& ex) : timer(ex, Clock::time_point::max()) {}
    asio::steady_timer timer;
    int result = -1;  // -1 pending, else 0/1; touched on the proxy thread only
  };
  auto wait = std::make_shared<Wait>(client_.get_executor());
  std::weak_ptr<EgressProxy> proxy = st_->proxy;
  asio::io_context* io = &st_->io;
  st_->opts.record(d, [wait, proxy, io](bool ok) {
    std::shared_ptr<EgressProxy> alive = proxy.lock();
    if (!alive) return;  // shutting down: nothing waits any more
    asio::post(*io, [wait, ok] {
      wait->result = ok ? 1 : 0;
      wait->timer.cancel();
    });
  });
  while (wait->result < 0) {
    auto [ec] = co_await wait->timer.async_wait(kUseTuple);
    (void)ec;
  }
  co_return wait->result == 1;
}

template <class From, class To>
Task<void> Connection::pump(std::shared_ptr<Connection> self, From& from, To& to) {
  std::array<char, 16 * 1024> data;
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(data), kUseTuple);
    if (n > 0) {
      last_activity_ = Clock::now();
      auto [wec, wn] = co_await asio::async_write(to, asio::buffer(data.data(), n), kUseTuple);
      (void)wn;
      if (wec) {
        close();
        co_return;
      }
      last_activity_ = Clock::now();
    }
    if (ec == asio::error::eof && !closed_) {
      // Half-close: the other direction may still be sending (a response after the request).
      boost::system::error_code ig;
      to.shutdown(asio::socket_base::shutdown_send, ig);
      if (++eofs_ == 2) close();
      co_return;
    }
    if (ec) {
      close();
      co_return;
    }
  }
}

Task<void> Connection::run(std::shared_ptr<Connection> self) {
  const ProxyLimits& limits = st_->limits;
  Decision d;
  if (st_->active > limits.max_connections) {
    d.status = 429;
    co_await refuse(d, "too many concurrent connections for this session (limit " +
                           std::to_string(limits.max_connections) + ")");
    co_return;
  }
  arm(limits.header_timeout);
  auto [ec, n] = co_await asio::async_read_until(
      client_, asio::dynamic_buffer(buf_, limits.max_header_bytes), "\r\n\r\n", kUseTuple);
  deadline_.cancel();
  if (closed_) co_return;
  if (ec == asio::error::not_found) {
    d.status = 431;
    co_await refuse(
        d, "request head larger than " + std::to_string(limits.max_header_bytes) + " bytes");
    co_return;
  }
  if (ec) {
    close();
    co_return;
  }
  RequestHead head;
  const std::string rest = buf_.substr(n);
  if (!parseHead(std::string_view(buf_).substr(0, n), head)) {
    d.status = 400;
    co_await refuse(d, "malformed request head");
    co_return;
  }
  d.method = head.method;
  const bool tunnel = head.method == "CONNECT";
  std::string path;
  if (tunnel) {
    if (!splitAuthority(head.target, 0, d.host, d.port)) {
      d.status = 400;
      co_await refuse(d, "CONNECT needs host:port");
      co_return;
    }
  } else {
    constexpr std::string_view kScheme = "http://";
    if (head.target.size() < kScheme.size() ||
        !iequals(std::string_view(head.target).substr(0, kScheme.size()), kScheme)) {
      d.status = 400;
      co_await refuse(d, head.target.starts_with("/")
                             ? "this is a forward proxy: send an absolute http:// URL or CONNECT"
                             : "only http:// URLs are forwarded (https goes through CONNECT)");
      co_return;
    }
    std::string_view after = std::string_view(head.target).substr(kScheme.size());
    std::size_t end = after.find_first_of("/?#");
    std::string_view authority = after.substr(0, end);
    path = end == std::string_view::npos ? "/" : std::string(after.substr(end));
    if (path.front() != '/') path.insert(0, "/");
    if (std::size_t hash = path.find('#'); hash != std::string::npos) path.resize(hash);
    if (!splitAuthority(authority, 80, d.host, d.port)) {
      d.status = 400;
      co_await refuse(d, "bad host in the request URL");
      co_return;
    }
  }
  if (!st_->opts.allow.allows(d.host)) {
    d.status = 403;
    co_await refuse(d, "host '" + d.host +
                           "' is not in this environment's allowed_hosts (networking: limited)");
    co_return;
  }
  if (st_->opts.record) {
    Decision pending = d;
    pending.allowed = true;
    pending.status = 200;
    const bool recorded = co_await record(pending);
    if (closed_) co_return;
    if (!recorded) {
      d.status = 503;
      co_await refuse(d, "the audit log is unavailable, so no connection is opened");
      co_return;
    }
  }
  if (!co_await openUpstream(d)) co_return;

  std::string first;  // bytes for the upstream before relaying
  if (tunnel) {
    std::string ok = "HTTP/1.1 200 Connection Established\r\n\r\n";
    auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(ok), kUseTuple);
    (void)wn;
    if (wec) {
      close();
      co_return;
    }
    first = rest;
  } else {
    first = head.method + " " + path + " " + head.version + "\r\n";
    bool has_host = false;
    for (const auto& [name, value] : head.headers) {
      if (iequals(name, "proxy-connection") || iequals(name, "proxy-authorization") ||
          iequals(name, "connection") || iequals(name, "keep-alive")) {
        continue;
      }
      if (iequals(name, "host")) has_host = true;
      first += name + ": " + value + "\r\n";
    }
    if (!has_host) {
      first += "Host: " + d.host;
      if (d.port != 80) first += ":" + std::to_string(d.port);
      first += "\r\n";
    }
    // One request per proxied connection: nothing pipelined after it can reach another host.
    first += "Connection: close\r\n\r\n";
    first += rest;
  }
  d.allowed = true;
  d.status = 200;
  st_->decide(d);
  if (!first.empty()) {
    auto [wec, wn] = co_await asio::async_write(upstream_, asio::buffer(first), kUseTuple);
    (void)wn;
    if (wec) {
      close();
      co_return;
    }
  }
  buf_.clear();
  buf_.shrink_to_fit();
  last_activity_ = Clock::now();
  watchIdle();
  asio::co_spawn(client_.get_executor(), pump(self, upstream_, client_), asio::detached);
  co_await pump(self, client_, upstream_);
}

Task<void> Listener::State::acceptLoop(std::shared_ptr<State> self) {
  asio::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(kUseTuple);
    if (closed) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      // Out of descriptors and the like: back off instead of spinning.
      log::warn("egress: session {}: accept: {}", opts.session_id, ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(kUseTuple);
      continue;
    }
    std::erase_if(conns, [](const std::weak_ptr<Connection>& w) { return w.expired(); });
    auto conn = std::make_shared<Connection>(self, std::move(sock));
    conns.push_back(conn);
    asio::co_spawn(acceptor.get_executor(), conn->run(conn), asio::detached);
  }
}

void Listener::State::close() {
  closed = true;
  boost::system::error_code ig;
  acceptor.close(ig);
  for (auto& w : conns) {
    if (auto c = w.lock()) c->close();
  }
  conns.clear();
}

// ---- Listener ------------------------------------------------------------------------------

Listener::Listener(std::shared_ptr<EgressProxy> proxy, std::shared_ptr<State> state,
                   std::filesystem::path path)
    : proxy_(std::move(proxy)), state_(std::move(state)), path_(std::move(path)) {}

Listener::~Listener() {
  asio::post(proxy_->impl_->io, [state = state_] { state->close(); });
  // Remove the socket file unless something else has replaced it since.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == state_->ino) {
    ::unlink(path_.c_str());
  }
}

// ---- EgressProxy ---------------------------------------------------------------------------

EgressProxy::EgressProxy(ProxyLimits limits) : limits_(limits), impl_(std::make_unique<Impl>()) {}

std::shared_ptr<EgressProxy> EgressProxy::create(ProxyLimits limits) {
  std::shared_ptr<EgressProxy> p(new EgressProxy(limits));
  p->impl_->guard.emplace(p->impl_->io.get_executor());
  p->impl_->thread = std::thread([impl = p->impl_.get()] { impl->io.run(); });
  return p;
}

EgressProxy::~EgressProxy() {
  impl_->guard.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) {
    if (impl_->thread.get_id() == std::this_thread::get_id()) {
      // The last owner let go on the proxy's own thread (not expected: listeners are dropped by
      // their sessions); joining itself would deadlock.
      impl_->thread.detach();
    } else {
      impl_->thread.join();
    }
  }
}

Result<std::unique_ptr<Listener>> EgressProxy::listen(ListenOptions options) {
  const std::filesystem::path path = options.socket_path;
  const std::string name = path.filename().string();
  if (!path.is_absolute() || name.empty() || name.size() > 64) {
    return Error::invalid("egress: socket path must be absolute with a short file name");
  }
  // sun_path holds 108 bytes; binding through the directory's descriptor keeps it short
  // whatever the sandbox root's length.
  int dir = ::open(path.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return Error::internal("egress: cannot open " + path.parent_path().string() + ": " +
                           std::strerror(errno));
  }
  struct DirCloser {
    int fd;
    ~DirCloser() { ::close(fd); }
  } closer{dir};
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Error::internal("egress: " + path.string() + " exists and is not a socket");
    }
    ::unlinkat(dir, name.c_str(), 0);  // stale, from an earlier run
  }
  auto state = std::make_shared<Listener::State>(impl_->io, std::move(options), limits_);
  state->proxy = weak_from_this();
  const std::string bind_path = "/proc/self/fd/" + std::to_string(dir) + "/" + name;
  boost::system::error_code ec;
  state->acceptor.open(UnixSocket(), ec);
  if (!ec) state->acceptor.bind(UnixSocket::endpoint(bind_path), ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error::internal("egress: cannot listen on " + path.string() + ": " + ec.message());
  if (::fchmodat(dir, name.c_str(), 0600, 0) != 0 ||
      (state->opts.owner && ::fchownat(dir, name.c_str(), state->opts.owner->first,
                                       state->opts.owner->second, AT_SYMLINK_NOFOLLOW) != 0) ||
      ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    const std::string why = std::strerror(errno);
    ::unlinkat(dir, name.c_str(), 0);
    return Error::internal("egress: cannot set up " + path.string() + ": " + why);
  }
  state->ino = st.st_ino;
  log::info("egress: session {} listening ({} allowed host entries)", state->opts.session_id,
            state->opts.allow.entries().size());
  asio::co_spawn(impl_->io, state->acceptLoop(state), asio::detached);
  return std::unique_ptr<Listener>(new Listener(shared_from_this(), state, path));
}

}  // namespace basalt::egress
