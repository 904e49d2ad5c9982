#pragma once
// A Responder that records what a handler sent, for tests that need no sockets.

#include "basalt/core/exchange.h"

#include <string>
#include <vector>

namespace basalt::testing {

class FakeResponder final : public Responder {
 public:
  Task<bool> send(int status, Headers headers, std::string body) override {
    this->status = status;
    this->headers = std::move(headers);
    this->body = std::move(body);
    complete = true;
    co_return !gone;
  }
  Task<bool> startStream(int status, Headers headers) override {
    this->status = status;
    this->headers = std::move(headers);
    streaming = true;
    co_return !gone;
  }
  Task<bool> write(std::string_view chunk) override {
    chunks.emplace_back(chunk);
    body += chunk;
    if (gone_after_writes >= 0 && static_cast<int>(chunks.size()) >= gone_after_writes) gone = true;
    co_return !gone;
  }
  Task<bool> endStream() override {
    complete = true;
    co_return !gone;
  }
  bool clientGone() const override { return gone; }

  const std::string* header(std::string_view name) const {
    for (const Header& h : headers) {
      if (h.name == name) return &h.value;
    }
    return nullptr;
  }

  int status = 0;
  Headers headers;
  std::string body;
  std::vector<std::string> chunks;
  bool streaming = false;
  bool complete = false;
  bool gone = false;
  int gone_after_writes = -1;  ///< the client "disconnects" after this many writes
};

}  // namespace basalt::testing
