// Micro benchmark (not a ctest test): MB/s of Guardrail::apply() and of StreamFilter on prose
// with a guardrail that has every built-in detector, a regex and a word list.
// Usage: build/guardrails_bench [megabytes]

#include "basalt/guardrails/stream_filter.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using basalt::guardrails::Direction;
using basalt::guardrails::Guardrail;

int main(int argc, char** argv) {
  const double mb = argc > 1 ? std::atof(argv[1]) : 64;
  basalt::config::GuardrailSettings s;
  s.name = "bench";
  for (const char* e : {"AWS_ACCESS_KEY", "AWS_SECRET_KEY", "CREDIT_DEBIT_CARD_NUMBER", "EMAIL",
                        "IP_ADDRESS", "MAC_ADDRESS", "PHONE", "URL", "US_SOCIAL_SECURITY_NUMBER"}) {
    s.pii.push_back({e, basalt::config::GuardrailAction::kAnonymize});
  }
  s.regexes = {{"ticket", "TKT-[0-9]+", basalt::config::GuardrailAction::kAnonymize}};
  s.words = {"project-falcon", "codename"};
  auto g = Guardrail::compile(s);
  if (!g) {
    std::fprintf(stderr, "%s\n", g.error().message.c_str());
    return 1;
  }
  const std::string paragraph =
      "The model gateway routes each request to a provider, checks the caller's policy and "
      "quota, and records an audit event. In 2024 the team measured 1500 requests per second "
      "on 4 cores; latency stayed under 3.5 ms at the 99th percentile. Nothing in this "
      "paragraph is sensitive, which is the common case for chat traffic.\n";
  std::string text;
  while (text.size() < 64 * 1024) text += paragraph;  // a long (64 KiB) message

  const auto iterations = static_cast<int>(mb * 1024 * 1024 / static_cast<double>(text.size()));
  std::size_t sink = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) sink += (*g)->apply(text, Direction::kInput).text.size();
  auto t1 = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  std::printf("apply():       %8.1f MB/s  (%d x %zu bytes)\n",
              iterations * static_cast<double>(text.size()) / secs / 1e6, iterations, text.size());

  // Streaming: ~20-byte deltas, as a model streams them.
  const int stream_iterations = std::max(1, iterations / 4);
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < stream_iterations; ++i) {
    auto f = (*g)->stream();
    for (std::size_t p = 0; p < text.size(); p += 20)
      sink += f.push(text.substr(p, 20)).text.size();
    sink += f.finish().text.size();
  }
  t1 = std::chrono::steady_clock::now();
  const double ssecs = std::chrono::duration<double>(t1 - t0).count();
  std::printf("StreamFilter:  %8.1f MB/s  (20-byte deltas)\n",
              stream_iterations * static_cast<double>(text.size()) / ssecs / 1e6);
  return sink == 0 ? 1 : 0;
}
