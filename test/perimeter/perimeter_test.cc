#include "basalt/perimeter/perimeter.h"

#include "basalt/identity/api_key.h"
#include "basalt/storage/store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace basalt::perimeter {
namespace {

constexpr std::string_view kAllowInvoke = R"({
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel*",
                 "Resource": "arn:aws:bedrock:us-east-1::foundation-model/gpt-*"}]})";

constexpr std::string_view kDenyStream = R"({
  "Version": "2012-10-17",
  "Statement": [{"Sid": "NoStreams", "Effect": "Deny",
                 "Action": "bedrock:InvokeModelWithResponseStream", "Resource": "*"}]})";

class PerimeterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("perimeter-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = storage::Store::open((dir_ / "basalt.db").string());
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    pepper_ = identity::generatePepper();
    const identity::ApiKeyDigest root = identity::hashApiKey(pepper_, "root-secret");
    perimeter_ = std::make_unique<Perimeter>(
        *store_, pepper_, std::string(root.begin(), root.end()), "us-east-1");
    ASSERT_TRUE(perimeter_->refresh());
  }
  void TearDown() override {
    perimeter_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  /// Creates principal `name` and an API key for it; returns the printable key.
  std::string keyFor(const std::string& name) {
    auto p = store_->createPrincipal(name, storage::PrincipalKind::kUser);
    EXPECT_TRUE(p);
    identity::GeneratedApiKey key = identity::generateApiKey();
    storage::ApiKey record;
    record.key_id = key.key_id;
    record.digest = identity::hashApiKey(pepper_, key.api_key);
    record.principal_id = p->id;
    EXPECT_TRUE(store_->addApiKey(record));
    key_ids_[name] = key.key_id;
    return key.api_key;
  }

  void attach(const std::string& policy, std::string_view doc, const std::string& to) {
    ASSERT_TRUE(store_->putPolicy(policy, doc));
    auto subject = store_->resolveSubject(to);
    ASSERT_TRUE(subject);
    ASSERT_TRUE(store_->attachPolicy(policy, *subject));
  }

  static HttpRequest bearer(const std::string& key) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/chat/completions";
    r.headers.push_back({"authorization", "Bearer " + key});
    r.remote_ip = "127.0.0.1";
    return r;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Store> store_;
  std::string pepper_;
  std::unique_ptr<Perimeter> perimeter_;
  std::map<std::string, std::string> key_ids_;
};

TEST_F(PerimeterTest, MissingAndUnknownKeysAre401) {
  HttpRequest none;
  none.target = "/v1/chat/completions";
  auto r = perimeter_->authenticate(none);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUnauthenticated);
  auto unknown = perimeter_->authenticate(bearer(identity::generateApiKey().api_key));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, ErrorKind::kUnauthenticated);
}

TEST_F(PerimeterTest, RootKeyMayDoEverything) {
  auto caller = perimeter_->authenticate(bearer("root-secret"));
  ASSERT_TRUE(caller);
  EXPECT_TRUE(caller->root);
  EXPECT_TRUE(perimeter_->authorizeAdmin(bearer("root-secret"), "basalt:CreateKey"));
}

TEST_F(PerimeterTest, NewPrincipalCanDoNothingUntilAPolicyAllowsIt) {
  const std::string key = keyFor("alice");
  ASSERT_TRUE(perimeter_->refresh());
  auto caller = perimeter_->authenticate(bearer(key));
  ASSERT_TRUE(caller) << caller.error().message;
  EXPECT_EQ(caller->name, "alice");
  const std::string arn = perimeter_->modelArn("gpt-mock");
  EXPECT_EQ(arn, "arn:aws:bedrock:us-east-1::foundation-model/gpt-mock");
  auto before = perimeter_->authorize(*caller, "bedrock:InvokeModel", arn, bearer(key));
  EXPECT_FALSE(before.allowed);
  EXPECT_EQ(before.effect, "ImplicitDeny");

  attach("invoke", kAllowInvoke, "alice");
  ASSERT_TRUE(perimeter_->refresh());
  auto after = perimeter_->authorize(*caller, "bedrock:InvokeModel", arn, bearer(key));
  EXPECT_TRUE(after.allowed);
  EXPECT_EQ(after.policy, "invoke");
  EXPECT_FALSE(perimeter_->authorize(*caller, "bedrock:InvokeModel",
                                     perimeter_->modelArn("claude"), bearer(key))
                   .allowed);
  EXPECT_FALSE(perimeter_->authorizeAdmin(bearer(key), "basalt:CreateKey"));
}

TEST_F(PerimeterTest, GroupPoliciesApplyAndExplicitDenyWins) {
  const std::string key = keyFor("bob");
  ASSERT_TRUE(store_->createGroup("engineers"));
  ASSERT_TRUE(store_->addToGroup("engineers", "bob"));
  attach("invoke", kAllowInvoke, "engineers");
  attach("no-streams", kDenyStream, "bob");
  ASSERT_TRUE(perimeter_->refresh());
  auto caller = perimeter_->authenticate(bearer(key));
  ASSERT_TRUE(caller);
  const std::string arn = perimeter_->modelArn("gpt-x");
  EXPECT_TRUE(perimeter_->authorize(*caller, "bedrock:InvokeModel", arn, bearer(key)).allowed);
  auto stream = perimeter_->authorize(*caller, "bedrock:InvokeModelWithResponseStream", arn,
                                      bearer(key));
  EXPECT_FALSE(stream.allowed);
  EXPECT_EQ(stream.effect, "ExplicitDeny");
  EXPECT_EQ(stream.policy, "no-streams");
}

TEST_F(PerimeterTest, RevocationTakesEffectOnRefresh) {
  const std::string key = keyFor("carol");
  ASSERT_TRUE(perimeter_->refresh());
  ASSERT_TRUE(perimeter_->authenticate(bearer(key)));
  ASSERT_TRUE(store_->revokeKey(key_ids_["carol"]));
  ASSERT_TRUE(perimeter_->refresh());
  auto r = perimeter_->authenticate(bearer(key));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUnauthenticated);
}

TEST_F(PerimeterTest, XApiKeyHeaderWorksToo) {
  const std::string key = keyFor("dave");
  ASSERT_TRUE(perimeter_->refresh());
  HttpRequest r;
  r.target = "/v1/messages";
  r.headers.push_back({"x-api-key", key});
  auto caller = perimeter_->authenticate(r);
  ASSERT_TRUE(caller);
  EXPECT_EQ(caller->auth, "api_key");
}

}  // namespace
}  // namespace basalt::perimeter

namespace basalt::perimeter {
namespace {

TEST_F(PerimeterTest, CallerForAPrincipalCarriesItsGroupsAndPolicies) {
  const std::string key = keyFor("carol");
  ASSERT_TRUE(store_->addToGroup("engineers", "carol"));
  attach("invoke", kAllowInvoke, "engineers");
  ASSERT_TRUE(perimeter_->refresh());
  auto authenticated = perimeter_->authenticate(bearer(key));
  ASSERT_TRUE(authenticated);

  auto caller = perimeter_->callerFor(authenticated->principal_id);
  ASSERT_TRUE(caller) << caller.error().message;
  EXPECT_EQ(caller->name, "carol");
  EXPECT_EQ(caller->groups, std::vector<std::string>{"engineers"});
  EXPECT_EQ(caller->auth, "session");
  EXPECT_FALSE(caller->root);
  EXPECT_TRUE(perimeter_->authorize(*caller, "bedrock:InvokeModel", perimeter_->modelArn("gpt-m"),
                                    bearer(key))
                  .allowed);

  auto root = perimeter_->callerFor("root");
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->root);
  ASSERT_TRUE(store_->deletePrincipal("carol"));
  ASSERT_TRUE(perimeter_->refresh());
  auto gone = perimeter_->callerFor(authenticated->principal_id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace basalt::perimeter
