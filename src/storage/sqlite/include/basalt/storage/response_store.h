#pragma once
/// Stored Responses-API responses (`store: true`): what `GET /v1/responses/{id}` returns and
/// what `previous_response_id` continues. Each row belongs to the principal that created it;
/// another principal gets "not found", never a hint that the id exists. Rows expire (30 days by
/// default, like OpenAI's) and are swept on write.
///
/// Thread-safe (one connection behind a mutex). Writes use synchronous=NORMAL: a stored
/// response lost to a power cut is re-creatable by the client, unlike an audit record, so the
/// serving thread does not wait for an fsync.

#include "basalt/core/error.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::storage {

struct StoredResponse {
  std::string id;
  std::string principal_id;
  std::int64_t created_at_ms = 0;
  std::string response;      ///< the Response object JSON, as the client saw it
  std::string conversation;  ///< input and output items JSON, to continue from
};

class ResponseStore {
 public:
  static constexpr std::size_t kMaxRowBytes = 16U << 20U;

  static Result<std::unique_ptr<ResponseStore>> open(
      const std::string& db_path, std::chrono::hours ttl = std::chrono::hours(24 * 30));
  ~ResponseStore();
  ResponseStore(const ResponseStore&) = delete;
  ResponseStore& operator=(const ResponseStore&) = delete;

  /// Inserts or replaces `response` (kInvalidRequest when larger than kMaxRowBytes).
  Result<void> put(const StoredResponse& response);
  /// nullopt when absent, expired or owned by another principal.
  Result<std::optional<StoredResponse>> get(std::string_view id, std::string_view principal_id);
  /// false when there was nothing of this principal's to delete.
  Result<bool> remove(std::string_view id, std::string_view principal_id);

 private:
  struct Impl;
  explicit ResponseStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::storage
