#pragma once
// Private to basalt_app: the Responses door's server-side state. Responses created with
// `store` (OpenAI's default) are kept per principal in storage::ResponseStore; a request with
// `previous_response_id` continues the stored conversation; `GET`/`DELETE
// /v1/responses/{id}` read and remove them.

#include "basalt/core/async.h"
#include "basalt/core/exchange.h"
#include "basalt/pipeline/gateway.h"
#include "basalt/storage/response_store.h"

namespace basalt::perimeter {
class Perimeter;
}

namespace basalt::app {

class StoredResponses final : public pipeline::CallHooks {
 public:
  /// `perimeter` may be null (an open gateway: everything belongs to principal "").
  StoredResponses(storage::ResponseStore& store, const perimeter::Perimeter* perimeter)
      : store_(store), perimeter_(perimeter) {}

  Result<void> prepare(const std::string& principal_id, canonical::ChatRequest& chat) override;
  bool wantsResponse(const canonical::ChatRequest& chat) const override;
  void completed(const std::string& principal_id, const canonical::ChatRequest& chat,
                 const canonical::ChatResponse& response) override;

  /// GET and DELETE /v1/responses/{id}.
  Task<void> serve(HttpRequest& request, Responder& responder);

 private:
  storage::ResponseStore& store_;
  const perimeter::Perimeter* perimeter_;
};

}  // namespace basalt::app
