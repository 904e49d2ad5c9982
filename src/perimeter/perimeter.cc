#include "basalt/perimeter/perimeter.h"

#include "basalt/core/log.h"
#include "basalt/identity/api_key.h"
#include "basalt/identity/credential.h"
#include "basalt/identity/sigv4_verifier.h"
#include "basalt/policy/compiled_policy.h"
#include "basalt/policy/request_context.h"
#include "basalt/storage/key_index.h"
#include "basalt/storage/store.h"

#include <openssl/crypto.h>

#include <atomic>
#include <unordered_map>

namespace basalt::perimeter {

/// Everything the request path needs, built once per store change and never mutated.
struct DirectoryState {
  std::unique_ptr<storage::KeyIndex> keys;
  std::unordered_map<std::string, Caller> callers;                   ///< by principal id
  std::unordered_map<std::string, policy::CompiledPolicy> policies;  ///< by name
  /// Policies that apply to a principal (its own and its groups'), by principal id.
  std::unordered_map<std::string, std::vector<const policy::CompiledPolicy*>> effective;
};

namespace {

const std::string kRootId = "root";

Error unauthenticated(std::string message, std::string code) {
  return Error{ErrorKind::kUnauthenticated, std::move(message), {}, std::move(code)};
}

std::shared_ptr<const DirectoryState> buildState(std::shared_ptr<const storage::Snapshot> snap) {
  auto state = std::make_shared<DirectoryState>();
  for (const storage::Principal& p : snap->principals) {
    Caller c;
    c.principal_id = p.id;
    c.name = p.name;
    c.kind = std::string(storage::principalKindName(p.kind));
    c.groups = p.groups;
    c.tags = p.tags;
    state->callers.emplace(p.id, std::move(c));
  }
  for (const storage::Policy& p : snap->policies) {
    Result<policy::CompiledPolicy> compiled = policy::CompiledPolicy::compile(p.name, p.document);
    if (!compiled) {
      // Documents are validated when they are put; one that no longer compiles allows nothing.
      log::error("policy '{}' does not compile and is ignored: {}", p.name,
                 compiled.error().message);
      continue;
    }
    state->policies.emplace(p.name, std::move(*compiled));
  }
  std::unordered_map<std::string, std::vector<const policy::CompiledPolicy*>> by_group;
  for (const storage::Attachment& a : snap->attachments) {
    auto it = state->policies.find(a.policy);
    if (it == state->policies.end()) continue;
    if (a.subject.kind == storage::SubjectKind::kPrincipal) {
      state->effective[a.subject.id].push_back(&it->second);
    } else {
      by_group[a.subject.id].push_back(&it->second);
    }
  }
  for (const auto& [id, caller] : state->callers) {
    for (const std::string& group : caller.groups) {
      auto g = by_group.find(group);
      if (g == by_group.end()) continue;
      auto& list = state->effective[id];
      list.insert(list.end(), g->second.begin(), g->second.end());
    }
  }
  state->keys = std::make_unique<storage::KeyIndex>(std::move(snap));
  return state;
}

}  // namespace

Perimeter::Perimeter(storage::Store& store, std::string pepper, std::string root_key_digest,
                     std::string region)
    : store_(store),
      pepper_(std::move(pepper)),
      root_key_digest_(std::move(root_key_digest)),
      region_(std::move(region)),
      state_(std::make_shared<DirectoryState>()) {}

Perimeter::~Perimeter() = default;

std::shared_ptr<const DirectoryState> Perimeter::state() const {
  return std::atomic_load_explicit(&state_, std::memory_order_acquire);
}

Result<void> Perimeter::refresh() {
  Result<std::shared_ptr<const storage::Snapshot>> snap = store_.loadSnapshot();
  if (!snap) return snap.error();
  if (on_refresh_) on_refresh_(**snap);
  auto state = buildState(std::move(*snap));
  std::atomic_store_explicit(&state_, std::move(state), std::memory_order_release);
  return {};
}

void Perimeter::setRefreshListener(std::function<void(const storage::Snapshot&)> listener) {
  on_refresh_ = std::move(listener);
}

Result<Caller> Perimeter::callerFor(std::string_view principal_id) const {
  if (principal_id == kRootId) {
    Caller root;
    root.principal_id = kRootId;
    root.name = "root";
    root.kind = "root";
    root.auth = "session";
    root.root = true;
    return root;
  }
  const std::shared_ptr<const DirectoryState> state = this->state();
  auto it = state->callers.find(std::string(principal_id));
  if (it == state->callers.end()) {
    return Error::notFound("principal '" + std::string(principal_id) + "' no longer exists");
  }
  Caller caller = it->second;
  caller.auth = "session";
  return caller;
}

Result<Caller> Perimeter::authenticate(const HttpRequest& request) const {
  const identity::Credential credential =
      identity::parseCredential(request.headers, request.target);
  const auto now = std::chrono::system_clock::now();
  const std::shared_ptr<const DirectoryState> state = this->state();

  if (const auto* key = std::get_if<identity::ApiKeyCredential>(&credential)) {
    const identity::ApiKeyDigest digest = identity::hashApiKey(pepper_, key->key);
    if (root_key_digest_.size() == digest.size() &&
        CRYPTO_memcmp(root_key_digest_.data(), digest.data(), digest.size()) == 0) {
      Caller root;
      root.principal_id = kRootId;
      root.name = "root";
      root.kind = "root";
      root.auth = "api_key";
      root.root = true;
      return root;
    }
    if (!state->keys) return unauthenticated("Incorrect API key provided.", "invalid_api_key");
    Result<identity::ApiKeyPrincipal> who =
        identity::authenticateApiKeyDigest(key->key, digest, state->keys->apiKeys(), now);
    if (!who) return who.error();
    auto it = state->callers.find(who->principal_id);
    if (it == state->callers.end()) {
      return unauthenticated("Incorrect API key provided.", "invalid_api_key");
    }
    Caller caller = it->second;
    caller.key_id = who->key_id;
    caller.auth = key->source == identity::ApiKeySource::kXApiKey ? "api_key" : "bearer";
    return caller;
  }
  if (std::holds_alternative<identity::Sigv4Credential>(credential)) {
    if (!state->keys) {
      return Error{ErrorKind::kUnauthenticated,
                   "The security token included in the request is invalid.",
                   {},
                   "UnrecognizedClientException"};
    }
    static const identity::Sigv4Verifier verifier;
    identity::Sigv4Result verified =
        verifier.verify(identity::Sigv4Request::from(request), state->keys->accessKeys(), now);
    if (!verified) return verified.error().toError();
    auto it = state->callers.find(verified->principal_id);
    if (it == state->callers.end()) {
      return Error{ErrorKind::kUnauthenticated,
                   "The security token included in the request is invalid.",
                   {},
                   "UnrecognizedClientException"};
    }
    Caller caller = it->second;
    caller.key_id = verified->access_key_id;
    caller.auth = "sigv4";
    return caller;
  }
  if (const auto* bad = std::get_if<identity::MalformedCredential>(&credential)) {
    return unauthenticated(bad->reason, "invalid_api_key");
  }
  return unauthenticated(
      "You didn't provide an API key. Provide it in an Authorization header using Bearer auth "
      "(Authorization: Bearer YOUR_KEY), in an x-api-key header, or sign the request with AWS "
      "Signature Version 4.",
      "missing_api_key");
}

AuthzResult Perimeter::authorize(const Caller& caller, std::string_view action,
                                 std::string_view resource, const HttpRequest& request) const {
  AuthzResult result;
  if (caller.root) {
    result.allowed = true;
    result.effect = "Root";
    return result;
  }
  const std::shared_ptr<const DirectoryState> state = this->state();
  auto it = state->effective.find(caller.principal_id);
  if (it == state->effective.end()) {
    result.effect = "ImplicitDeny";
    return result;
  }
  policy::RequestContext context{std::string(action), std::string(resource)};
  context.set("aws:username", caller.name);
  context.set("aws:userid", caller.principal_id);
  context.set("aws:PrincipalType", caller.kind);
  context.set("aws:SourceIp", request.remote_ip);
  context.set("aws:SecureTransport", request.secure ? "true" : "false");
  context.set("aws:RequestedRegion", region_);
  for (const auto& [key, value] : caller.tags) context.set("aws:PrincipalTag/" + key, value);
  context.setCurrentTime(std::chrono::system_clock::now());
  const policy::Decision decision = policy::evaluate(it->second, context);
  result.allowed = decision.allowed();
  result.effect = std::string(policy::effectName(decision.effect));
  result.policy = std::string(decision.policy_name);
  result.statement = decision.statement_index;
  return result;
}

Result<Caller> Perimeter::authorizeAdmin(const HttpRequest& request,
                                         std::string_view action) const {
  Result<Caller> caller = authenticate(request);
  if (!caller) return caller.error();
  const AuthzResult authz = authorize(*caller, action, "arn:basalt:::admin", request);
  if (!authz.allowed) {
    return Error{ErrorKind::kPermissionDenied,
                 "User " + caller->name + " is not authorized to perform " + std::string(action),
                 {},
                 "access_denied"};
  }
  return caller;
}

std::string Perimeter::modelArn(std::string_view model) const {
  std::string arn = "arn:aws:bedrock:";
  arn += region_;
  arn += "::foundation-model/";
  arn += model;
  return arn;
}

}  // namespace basalt::perimeter
