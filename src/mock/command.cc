// The `basalt mock-upstream` subcommand: flags -> MockOptions, then serve until a signal.

#include "basalt/mock/mock_upstream.h"
#include "basalt/core/log.h"
#include "basalt/mock/script.h"
#include "basalt/server/server.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

namespace basalt::mock {

void registerMockUpstreamCommand(CLI::App& app) {
  struct Args {
    std::string listen = "127.0.0.1:9090";
    int threads = 1;
    MockOptions options;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "mock-upstream",
      "Run a deterministic stand-in provider (OpenAI Chat/Responses, Anthropic Messages, "
      "Bedrock Converse/ConverseStream) for tests, demos and benchmarks");
  sub->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0 picks a free port)")
      ->capture_default_str();
  sub->add_option("--threads", args->threads, "server threads (0 = one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  sub->add_option("--reply", args->options.reply,
                  "default reply text (default: echo \"You said: \" + the last user text)");
  sub->add_option("--latency-ms", args->options.latency_ms, "wait before the first byte")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  sub->add_option("--tokens-per-s", args->options.tokens_per_s,
                  "pace streamed chunks at this rate (0 = unpaced)")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  sub->add_option("--chunk", args->options.chunk,
                  "characters per streamed chunk (0 = one word per chunk)")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  sub->add_option("--status", args->options.status,
                  "every model call fails with this HTTP status (fallback/breaker tests)")
      ->check(CLI::Range(0, 599))
      ->capture_default_str();
  sub->add_option("--count-file", args->options.count_file,
                  "append one line \"METHOD PATH\" per request to this file");
  sub->add_option("--models", args->options.models, "model ids listed by GET /v1/models")
      ->delimiter(',')
      ->capture_default_str();
  sub->footer(kScriptHelp);

  sub->callback([args] {
    if (args->options.status != 0 && args->options.status < 100) {
      throw CLI::ValidationError("--status", "must be 0 or an HTTP status (100-599)");
    }
    if (!args->options.count_file.empty() &&
        !std::ofstream(args->options.count_file, std::ios::app)) {
      throw CLI::ValidationError("--count-file",
                                 "cannot open " + args->options.count_file + " for appending");
    }
    log::init("warn");  // a mock logs problems, not traffic
    config::ServerSettings settings;
    settings.listen = args->listen;
    settings.threads = args->threads;
    settings.shutdown_grace_ms = 2000;  // a mock has nothing worth a long drain
    MockUpstream handler(args->options);
    server::Server server(settings, handler);
    if (auto started = server.start(); !started) {
      std::cerr << "mock-upstream: " << started.error().message << '\n';
      throw CLI::RuntimeError(1);
    }
    std::cout << "mock-upstream listening on " << server.boundAddress() << std::endl;
    server.runUntilSignal();
  });
}

}  // namespace basalt::mock
