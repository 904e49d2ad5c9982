#include "basalt/server/server.h"

#include "basalt/core/log.h"
#include "tls_context.h"
#include "worker.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

namespace basalt::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

Error configError(std::string message) {
  return Error{ErrorKind::kInvalidRequest, std::move(message), "server.listen", {}};
}

// "HOST:PORT", "[V6]:PORT"; HOST may be a name ("localhost").
Result<tcp::endpoint> parseListen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return configError("server.listen '" + listen + "': expected HOST:PORT");
  }
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return configError("server.listen '" + listen + "': bad port '" + port_text + "'");
  }
  if (host.empty()) host = "0.0.0.0";
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, static_cast<unsigned short>(port));
  asio::io_context resolver_context(1);
  tcp::resolver resolver(resolver_context);
  const auto results = resolver.resolve(host, port_text, tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return configError("server.listen '" + listen + "': cannot resolve '" + host +
                       "': " + ec.message());
  }
  return results.begin()->endpoint();
}

std::string formatEndpoint(const tcp::endpoint& endpoint) {
  const std::string host = endpoint.address().to_string();
  const std::string port = std::to_string(endpoint.port());
  return endpoint.address().is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

}  // namespace

class Server::Impl {
 public:
  Impl(config::ServerSettings settings, Handler& handler)
      : settings_(std::move(settings)), handler_(handler) {}
  ~Impl() {
    stop();
    wait();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Result<void> start();
  std::string boundAddress() const;
  void stop();
  void wait();
  void runUntilSignal();

 private:
  config::ServerSettings settings_;
  Handler& handler_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::string bound_address_;

  mutable std::mutex mutex_;
  bool started_ = false;
  bool stop_requested_ = false;
  asio::io_context* signal_context_ = nullptr;  // runUntilSignal's, while it waits
  std::mutex join_mutex_;
};

Result<void> Server::Impl::start() {
  std::lock_guard lock(mutex_);
  if (started_) return Error::internal("Server::start called twice");

  auto endpoint = parseListen(settings_.listen);
  if (!endpoint) return endpoint.error();

  const bool has_cert = !settings_.tls_cert.empty();
  const bool has_key = !settings_.tls_key.empty();
  if (has_cert != has_key) {
    return Error::invalid("server.tls_cert and server.tls_key must be set together");
  }
  if (!settings_.client_ca.empty() && !has_cert) {
    return Error::invalid("server.client_ca needs server.tls_cert and server.tls_key");
  }
  if (has_cert) {
    auto context = makeTlsContext(settings_);
    if (!context) return context.error();
    tls_ = std::move(*context);
  }

  int threads = settings_.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const ConnectionContext context{&settings_, &handler_, tls_.get()};
  tcp::endpoint where = *endpoint;
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>(context);
    try {
      worker->listen(where);
    } catch (const boost::system::system_error& e) {
      workers_.clear();
      return Error::internal("cannot listen on " + settings_.listen + ": " + e.code().message());
    }
    // Port 0: the first listener picks the port, the others share it through SO_REUSEPORT.
    if (i == 0) where = worker->localEndpoint();
    workers_.push_back(std::move(worker));
  }
  bound_address_ = formatEndpoint(where);
  for (auto& worker : workers_) worker->run();
  started_ = true;
  log::info("listening on {} ({}, {} thread(s))", bound_address_, tls_ ? "https" : "http", threads);
  return {};
}

std::string Server::Impl::boundAddress() const {
  std::lock_guard lock(mutex_);
  return bound_address_;
}

void Server::Impl::stop() {
  std::lock_guard lock(mutex_);
  if (signal_context_ != nullptr) signal_context_->stop();
  if (!started_ || stop_requested_) return;
  stop_requested_ = true;
  const std::chrono::milliseconds grace(std::max(0, settings_.shutdown_grace_ms));
  for (auto& worker : workers_) worker->requestShutdown(grace);
}

void Server::Impl::wait() {
  std::lock_guard lock(join_mutex_);
  for (auto& worker : workers_) worker->join();
}

void Server::Impl::runUntilSignal() {
  asio::io_context signal_context(1);
  asio::signal_set signals(signal_context, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code& ec, int signal_number) {
    if (!ec) log::info("signal {} received: shutting down", signal_number);
  });
  bool wait_for_signal = false;
  {
    std::lock_guard lock(mutex_);
    wait_for_signal = !stop_requested_;
    if (wait_for_signal) signal_context_ = &signal_context;
  }
  if (wait_for_signal) signal_context.run();  // until a signal, or stop() from elsewhere
  {
    std::lock_guard lock(mutex_);
    signal_context_ = nullptr;
  }
  stop();
  wait();
}

Server::Server(config::ServerSettings settings, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(settings), handler)) {}
Server::~Server() = default;
Result<void> Server::start() {
  return impl_->start();
}
std::string Server::boundAddress() const {
  return impl_->boundAddress();
}
void Server::stop() {
  impl_->stop();
}
void Server::wait() {
  impl_->wait();
}
void Server::runUntilSignal() {
  impl_->runUntilSignal();
}

}  // namespace basalt::server
