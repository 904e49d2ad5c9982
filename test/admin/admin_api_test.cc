#include "basalt/admin/admin_api.h"

#include "basalt/identity/api_key.h"
#include "basalt/storage/store.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

namespace basalt::admin {
namespace {

namespace json = boost::json;

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::open(dir_.file("basalt.db"));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    ctx_ = std::make_unique<AdminContext>(
        AdminContext{*store_, {}, {}, {}, "pepper", "", "", "", nullptr, "us-east-1"});
    ctx_->authenticate = [](const HttpRequest& req) -> Result<perimeter::Caller> {
      const std::string* auth = req.header("authorization");
      if (auth == nullptr) {
        return Error{ErrorKind::kUnauthenticated, "no key", {}, "invalid_api_key"};
      }
      perimeter::Caller c;
      c.principal_id = *auth == "Bearer deny" ? "prn_denied" : "root";
      c.name = *auth == "Bearer deny" ? "denied" : "root";
      c.kind = *auth == "Bearer deny" ? "user" : "root";
      c.key_id = "some-key";
      c.root = *auth != "Bearer deny";
      return c;
    };
    ctx_->authorize = [this](const perimeter::Caller& c, std::string_view action,
                             const HttpRequest&) {
      last_action_ = std::string(action);
      perimeter::AuthzResult r;
      r.allowed = c.root;
      r.effect = c.root ? "Root" : "ImplicitDeny";
      return r;
    };
    ctx_->refresh = [this]() -> Result<void> {
      ++refreshes_;
      return {};
    };
    api_ = std::make_unique<AdminApi>(*ctx_);
  }

  AdminReply call(std::string method, std::string target, std::string body = {},
                  std::string auth = "Bearer root") {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.remote_ip = "127.0.0.1";
    req.request_id = "req-1";
    if (!auth.empty()) req.headers.push_back({"authorization", auth});
    return api_->execute(req);
  }

  static json::value parse(const std::string& s) {
    boost::system::error_code ec;
    json::value v = json::parse(s, ec);
    EXPECT_FALSE(ec) << s;
    return v;
  }

  static std::string param(const AdminReply& r, std::string_view key) {
    for (const auto& [k, v] : r.event.request_parameters.extra) {
      if (k == key) return v;
    }
    return "<absent>";
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<AdminContext> ctx_;
  std::unique_ptr<AdminApi> api_;
  std::string last_action_;
  int refreshes_ = 0;
};

TEST_F(AdminApiTest, CreatesPrincipalWithGroupsOnDemandAndRefreshes) {
  AdminReply r = call("POST", "/admin/v1/principals",
                      R"({"name":"alice","kind":"service","groups":["dev","ops"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(last_action_, "basalt:CreatePrincipal");
  EXPECT_EQ(refreshes_, 1);
  json::value v = parse(r.body);
  EXPECT_EQ(v.at("name").as_string(), "alice");
  EXPECT_EQ(v.at("kind").as_string(), "service");
  EXPECT_EQ(v.at("groups").as_array().size(), 2u);
  EXPECT_TRUE(r.audited);
  EXPECT_EQ(r.event.event_name, "CreatePrincipal");
  EXPECT_EQ(r.event.user_identity.user_name, "root");
  EXPECT_EQ(r.event.response_elements.status, 201);
  EXPECT_EQ(param(r, "principal"), "alice");

  AdminReply dup = call("POST", "/admin/v1/principals", R"({"name":"alice"})");
  EXPECT_EQ(dup.status, 409) << dup.body;
  EXPECT_EQ(parse(dup.body).at("error").at("type").as_string(), "conflict_error");
  EXPECT_EQ(dup.event.error_code, "already_exists");

  AdminReply groups = call("GET", "/admin/v1/groups/dev");
  ASSERT_EQ(groups.status, 200) << groups.body;
  EXPECT_EQ(parse(groups.body).at("members").at(0).as_string(), "alice");

  EXPECT_EQ(call("GET", "/admin/v1/principals/alice").status, 200);
  EXPECT_EQ(call("GET", "/admin/v1/principals/bob").status, 404);
  EXPECT_EQ(call("DELETE", "/admin/v1/principals/alice").status, 200);
  EXPECT_EQ(call("GET", "/admin/v1/principals/alice").status, 404);
}

TEST_F(AdminApiTest, RejectsBadInput) {
  EXPECT_EQ(call("POST", "/admin/v1/principals", "{not json").status, 400);
  EXPECT_EQ(call("POST", "/admin/v1/principals", R"({"name":"a","kind":"robot"})").status, 400);
  EXPECT_EQ(call("POST", "/admin/v1/principals", R"({"name":"bad name!"})").status, 400);
  EXPECT_EQ(call("POST", "/admin/v1/principals", R"([1])").status, 400);
  EXPECT_EQ(call("GET", "/admin/v1/nothing").status, 404);
  EXPECT_FALSE(call("GET", "/admin/v1/nothing").audited);
}

TEST_F(AdminApiTest, RefusedCallsAreAuditedAsRefused) {
  AdminReply r = call("GET", "/admin/v1/principals", "", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_TRUE(r.audited);
  EXPECT_EQ(r.event.user_identity.type, "anonymous");
  EXPECT_EQ(r.event.error_code, "invalid_api_key");
  AdminReply d = call("POST", "/admin/v1/principals", R"({"name":"x"})", "Bearer deny");
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(parse(d.body).at("error").at("type").as_string(), "permission_error");
  EXPECT_EQ(d.event.user_identity.user_name, "denied");  // who was refused is recorded
  EXPECT_EQ(d.event.policy_decision.effect, "ImplicitDeny");
  EXPECT_EQ(d.event.error_code, "access_denied");
  EXPECT_EQ(call("GET", "/admin/v1/principals/x").status, 404);  // nothing was created
}

TEST_F(AdminApiTest, ApiKeyIsShownOnceAndStoredHashed) {
  ASSERT_EQ(call("POST", "/admin/v1/principals", R"({"name":"alice"})").status, 201);
  AdminReply r = call("POST", "/admin/v1/keys", R"({"principal":"alice"})");
  ASSERT_EQ(r.status, 201) << r.body;
  json::value v = parse(r.body);
  const std::string key_id(v.at("key_id").as_string());
  const std::string api_key(v.at("api_key").as_string());
  EXPECT_EQ(v.as_object().size(), 2u);
  EXPECT_EQ(param(r, "keyId"), key_id);
  EXPECT_EQ(r.event.request_parameters.extra.size(), 3u);
  for (const auto& [k, value] : r.event.request_parameters.extra) {
    EXPECT_EQ(value.find(api_key), std::string::npos) << k;
  }

  auto keys = store_->listApiKeys();
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].digest, identity::hashApiKey("pepper", api_key));

  AdminReply list = call("GET", "/admin/v1/keys");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(api_key), std::string::npos);
  EXPECT_EQ(parse(list.body).at("keys").at(0).at("principal").as_string(), "alice");

  EXPECT_EQ(call("DELETE", "/admin/v1/keys/" + key_id).status, 200);
  EXPECT_FALSE(
      parse(call("GET", "/admin/v1/keys").body).at("keys").at(0).at("revoked_at").is_null());
  EXPECT_EQ(call("DELETE", "/admin/v1/keys/nosuchkey").status, 404);
}

TEST_F(AdminApiTest, SigV4KeysAndExpiry) {
  ASSERT_EQ(call("POST", "/admin/v1/principals", R"({"name":"svc"})").status, 201);
  AdminReply r = call("POST", "/admin/v1/keys",
                      R"({"principal":"svc","sigv4":true,"expires_at":"2099-01-01T00:00:00Z"})");
  ASSERT_EQ(r.status, 201) << r.body;
  json::value v = parse(r.body);
  EXPECT_EQ(v.at("key_id"), v.at("access_key_id"));
  EXPECT_EQ(v.at("secret_access_key").as_string().size(), 40u);
  auto keys = store_->listAccessKeys();
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_TRUE((*keys)[0].expires_at.has_value());

  EXPECT_EQ(
      call("POST", "/admin/v1/keys", R"({"principal":"svc","expires_at":"yesterday"})").status,
      400);
  EXPECT_EQ(
      call("POST", "/admin/v1/keys", R"({"principal":"svc","expires_at":"2001-01-01T00:00:00Z"})")
          .status,
      400);
  EXPECT_EQ(call("POST", "/admin/v1/keys", R"({"principal":"nobody"})").status, 404);
}

TEST_F(AdminApiTest, PoliciesAreValidatedAndAttached) {
  ASSERT_EQ(call("POST", "/admin/v1/principals", R"({"name":"alice","groups":["dev"]})").status,
            201);
  AdminReply bad = call("PUT", "/admin/v1/policies/p1",
                        R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"},
      {"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*",
       "Condition":{"StringEqualz":{"aws:username":"x"}}}]})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("Statement[1]"), std::string::npos) << bad.body;
  EXPECT_EQ(call("GET", "/admin/v1/policies/p1").status, 404);

  const std::string doc =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]})";
  AdminReply put = call("PUT", "/admin/v1/policies/p1", doc);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(param(put, "policy"), "p1");
  EXPECT_EQ(call("POST", "/admin/v1/policies/p1/attachments", R"({"name":"alice"})").status, 200);
  EXPECT_EQ(call("POST", "/admin/v1/policies/p1/attachments", R"({"name":"dev"})").status, 200);
  EXPECT_EQ(call("POST", "/admin/v1/policies/p1/attachments", R"({"name":"ghost"})").status, 404);
  EXPECT_EQ(call("POST", "/admin/v1/policies/nope/attachments", R"({"name":"alice"})").status, 404);
  json::value got = parse(call("GET", "/admin/v1/policies/p1").body);
  EXPECT_EQ(got.at("attached_to").as_array().size(), 2u);
  EXPECT_TRUE(got.at("document").is_object());
  EXPECT_EQ(call("DELETE", "/admin/v1/policies/p1/attachments/dev").status, 200);
  EXPECT_EQ(parse(call("GET", "/admin/v1/policies/p1").body).at("attached_to").as_array().size(),
            1u);
}

TEST_F(AdminApiTest, QuotasAreValidated) {
  ASSERT_EQ(call("POST", "/admin/v1/principals", R"({"name":"alice"})").status, 201);
  EXPECT_EQ(call("PUT", "/admin/v1/quotas", R"({"name":"alice","rpm":0})").status, 400);
  EXPECT_EQ(call("PUT", "/admin/v1/quotas", R"({"name":"alice","rpm":-3})").status, 400);
  EXPECT_EQ(call("PUT", "/admin/v1/quotas", R"({"name":"alice","tpm":1e12})").status, 400);
  EXPECT_EQ(call("PUT", "/admin/v1/quotas", R"({"name":"alice","rpm":"2"})").status, 400);
  EXPECT_EQ(call("PUT", "/admin/v1/quotas", R"({"name":"alice"})").status, 400);
  EXPECT_EQ(call("PUT", "/admin/v1/quotas", R"({"name":"ghost","rpm":2})").status, 404);
  AdminReply ok =
      call("PUT", "/admin/v1/quotas", R"({"name":"alice","model":"m1","rpm":2,"concurrency":1})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto quotas = store_->listQuotas();
  ASSERT_TRUE(quotas);
  ASSERT_EQ(quotas->size(), 1u);
  EXPECT_EQ((*quotas)[0].rpm, 2);
  EXPECT_FALSE((*quotas)[0].tpm.has_value());
  EXPECT_EQ((*quotas)[0].model, "m1");
  json::value list = parse(call("GET", "/admin/v1/quotas").body);
  EXPECT_EQ(list.at("quotas").at(0).at("subject").at("name").as_string(), "alice");
  EXPECT_EQ(call("DELETE", "/admin/v1/quotas/alice?model=m1").status, 200);
  EXPECT_TRUE(store_->listQuotas()->empty());
}

TEST_F(AdminApiTest, AuditWithoutDatabaseIsAStorageFailure) {
  ctx_->audit_db_path = dir_.file("missing/none.db");
  AdminReply r = call("GET", "/admin/v1/audit?limit=5");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(call("GET", "/admin/v1/audit?limit=x").status, 400);
  EXPECT_EQ(call("GET", "/admin/v1/audit?since=notatime").status, 400);
}

}  // namespace
}  // namespace basalt::admin
