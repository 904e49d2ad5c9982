#pragma once
/// `basalt mock-upstream`: a deterministic stand-in for the providers Basalt calls (OpenAI
/// Chat and Responses, Anthropic Messages, Bedrock Converse/ConverseStream), scriptable per
/// request with a `#mock ...` directive line (see script.h and `mock-upstream --help`).

#include "basalt/core/exchange.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace basalt::mock {

namespace detail {
struct MockState;
}

/// Defaults for every request; a directive overrides them per request.
struct MockOptions {
  std::string reply;        ///< fixed reply text; empty = echo ("You said: " + user text)
  int latency_ms = 0;       ///< wait before the first byte
  double tokens_per_s = 0;  ///< pace streamed content chunks; 0 = as fast as possible
  int chunk = 0;            ///< characters per streamed chunk; 0 = one word per chunk
  int status = 0;           ///< > 0: every model call fails with this HTTP status
  std::string count_file;   ///< if set, one line "METHOD PATH" is appended per request
  std::vector<std::string> models{"mock-model"};  ///< ids listed by GET /v1/models
};

/// The mock as a transport-neutral Handler. Thread-safe: counters are atomics, the per-path
/// statistics take a short mutex.
class MockUpstream : public Handler {
 public:
  explicit MockUpstream(MockOptions options = {});
  ~MockUpstream() override;
  MockUpstream(const MockUpstream&) = delete;
  MockUpstream& operator=(const MockUpstream&) = delete;

  Task<void> handle(HttpRequest& request, Responder& responder) override;

  /// Requests seen so far (all paths except /mock/*).
  std::uint64_t requestCount() const;
  /// The `GET /mock/stats` body: {"requests": N, "by_path": {"/v1/messages": N, ...},
  /// "open_streams": N, "last_authorization": "..."}.
  std::string statsJson() const;

 private:
  MockOptions options_;
  std::unique_ptr<detail::MockState> state_;
};

/// Adds the `mock-upstream` subcommand: `--listen HOST:PORT`, `--threads`, `--reply`,
/// `--latency-ms`, `--tokens-per-s`, `--chunk`, `--status`, `--count-file`, `--models`. Its
/// callback serves a MockUpstream until SIGINT/SIGTERM, after printing
/// "mock-upstream listening on HOST:PORT" to stdout.
void registerMockUpstreamCommand(CLI::App& app);

}  // namespace basalt::mock
