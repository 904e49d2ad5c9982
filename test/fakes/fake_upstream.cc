#include "fakes/fake_upstream.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace basalt::testing {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

tcp::socket& lowest(tcp::socket& s) { return s; }
tcp::socket& lowest(ssl::stream<tcp::socket>& s) { return s.next_layer(); }

void closeNow(tcp::socket& s) {
  error_code ec;
  s.shutdown(tcp::socket::shutdown_both, ec);
  s.close(ec);
}
}  // namespace

const std::string* FakeRequest::header(std::string_view lower_name) const {
  for (const Header& h : headers) {
    if (h.name == lower_name) return &h.value;
  }
  return nullptr;
}

SelfSignedCert makeSelfSignedCert(const char* subject_alt_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  if (key == nullptr || x == nullptr) throw std::runtime_error("openssl: key generation failed");
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                            subject_alt_name);
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, key, EVP_sha256());

  auto toPem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  SelfSignedCert cert;
  cert.cert_pem = toPem([&](BIO* b) { PEM_write_bio_X509(b, x); });
  cert.key_pem =
      toPem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(x);
  EVP_PKEY_free(key);
  return cert;
}

struct FakeUpstream::State {
  std::unique_ptr<ssl::context> tls;  // before ioc: outlives the streams the ioc destroys
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  Script script;
  std::thread thread;
  std::uint16_t port = 0;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  int accepted = 0;
  int client_closed = 0;
  int server_closed = 0;
  std::vector<FakeRequest> requests;

  void count(int& counter) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++counter;
    }
    cv.notify_all();
  }

  void noteError(const error_code& ec) {
    if (ec != asio::error::operation_aborted) count(client_closed);
  }

  template <class Stream>
  void closeByServer(Stream& stream) {
    closeNow(lowest(stream));
    count(server_closed);
  }

  template <class Stream>
  asio::awaitable<void> pause(Stream& stream, std::chrono::milliseconds d) {
    if (d.count() <= 0) co_return;
    asio::steady_timer timer(stream.get_executor());
    timer.expires_after(d);
    co_await timer.async_wait(kTuple);
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream stream, int index) {
    beast::flat_buffer buffer;
    while (true) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(64U << 20U);
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
      if (ec) {
        noteError(ec);
        co_return;
      }
      bhttp::request<bhttp::string_body> req = parser.release();
      FakeRequest fr;
      fr.method = std::string(req.method_string());
      fr.target = std::string(req.target());
      for (const auto& f : req) fr.headers.push_back({lower(std::string(f.name_string())),
                                                      std::string(f.value())});
      fr.body = req.body();
      fr.connection = index;
      {
        std::lock_guard<std::mutex> lock(mu);
        requests.push_back(fr);
      }
      FakeReply reply = script(fr);
      co_await pause(stream, reply.delay_before_head);
      if (reply.drop) {
        closeByServer(stream);
        co_return;
      }

      if (reply.chunks.empty()) {
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), 11};
        for (const Header& h : reply.headers) res.insert(h.name, h.value);
        res.body() = reply.body;
        res.keep_alive(true);
        res.prepare_payload();
        auto [wec, wn] = co_await bhttp::async_write(stream, res, kTuple);
        if (wec) {
          noteError(wec);
          co_return;
        }
      } else {
        bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(reply.status), 11};
        for (const Header& h : reply.headers) res.insert(h.name, h.value);
        if (reply.eof_framed) {
          res.keep_alive(false);
        } else {
          res.chunked(true);
        }
        bhttp::response_serializer<bhttp::empty_body> sr(res);
        auto [hec, hn] = co_await bhttp::async_write_header(stream, sr, kTuple);
        if (hec) {
          noteError(hec);
          co_return;
        }
        for (std::size_t i = 0; i < reply.chunks.size(); ++i) {
          if (i > 0) co_await pause(stream, reply.delay_between_chunks);
          error_code cec;
          if (reply.eof_framed) {
            std::tie(cec, std::ignore) =
                co_await asio::async_write(stream, asio::buffer(reply.chunks[i]), kTuple);
          } else {
            std::tie(cec, std::ignore) = co_await asio::async_write(
                stream, bhttp::make_chunk(asio::buffer(reply.chunks[i])), kTuple);
          }
          if (cec) {
            noteError(cec);
            co_return;
          }
        }
        if (reply.eof_framed || reply.truncate) {
          closeByServer(stream);
          co_return;
        }
        if (reply.hold_after_chunks) {
          char byte = 0;
          auto [rec, rn] = co_await stream.async_read_some(asio::buffer(&byte, 1), kTuple);
          noteError(rec ? rec : asio::error::eof);
          co_return;
        }
        auto [lec, ln] = co_await asio::async_write(stream, bhttp::make_chunk_last(), kTuple);
        if (lec) {
          noteError(lec);
          co_return;
        }
      }
      if (reply.close_after) {
        closeByServer(stream);
        co_return;
      }
    }
  }

  asio::awaitable<void> acceptLoop() {
    while (true) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) co_return;
      count(accepted);
      int index = 0;
      {
        std::lock_guard<std::mutex> lock(mu);
        index = accepted;
      }
      if (tls) {
        asio::co_spawn(
            ioc,
            [this, s = std::move(socket), index]() mutable -> asio::awaitable<void> {
              ssl::stream<tcp::socket> stream(std::move(s), *tls);
              auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
              if (hec) {
                noteError(hec);
                co_return;
              }
              co_await serve(std::move(stream), index);
            },
            asio::detached);
      } else {
        asio::co_spawn(ioc, serve(std::move(socket), index), asio::detached);
      }
    }
  }

  bool waitFor(const int& counter, int n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return counter >= n; });
  }
};

FakeUpstream::FakeUpstream(Script script, const SelfSignedCert* tls)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.script = std::move(script);
  if (tls != nullptr) {
    s.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    s.tls->use_certificate_chain(asio::buffer(tls->cert_pem));
    s.tls->use_private_key(asio::buffer(tls->key_pem), ssl::context::pem);
  }
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  s.acceptor.open(endpoint.protocol());
  s.acceptor.set_option(tcp::acceptor::reuse_address(true));
  s.acceptor.bind(endpoint);
  s.acceptor.listen();
  s.port = s.acceptor.local_endpoint().port();
  asio::co_spawn(s.ioc, s.acceptLoop(), asio::detached);
  s.thread = std::thread([&s] { s.ioc.run(); });
}

FakeUpstream::~FakeUpstream() {
  state_->ioc.stop();
  state_->thread.join();
}

std::uint16_t FakeUpstream::port() const { return state_->port; }

std::string FakeUpstream::url(std::string_view path) const {
  return std::string(state_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) +
         std::string(path);
}

int FakeUpstream::acceptedConnections() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->accepted;
}

int FakeUpstream::clientClosed() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->client_closed;
}

bool FakeUpstream::waitClientClosed(int n, std::chrono::milliseconds timeout) const {
  return state_->waitFor(state_->client_closed, n, timeout);
}

int FakeUpstream::serverClosed() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->server_closed;
}

bool FakeUpstream::waitServerClosed(int n, std::chrono::milliseconds timeout) const {
  return state_->waitFor(state_->server_closed, n, timeout);
}

std::vector<FakeRequest> FakeUpstream::requests() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->requests;
}

}  // namespace basalt::testing
