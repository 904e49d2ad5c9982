#include "basalt/storage/store.h"

#include "storage/temp_dir.h"

#include <gtest/gtest.h>

#include <thread>

namespace basalt::storage {
namespace {

using basalt::testing::TempDir;
using namespace std::chrono_literals;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(dir_.file("basalt.db"));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST(SqlitePathFromUrl, SchemesAndDefaults) {
  EXPECT_EQ(*sqlitePathFromUrl("sqlite:basalt-data/basalt.db", "x"), "basalt-data/basalt.db");
  EXPECT_EQ(*sqlitePathFromUrl("sqlite:///var/lib/basalt.db", "x"), "/var/lib/basalt.db");
  EXPECT_EQ(*sqlitePathFromUrl("", "data"), "data/basalt.db");
  EXPECT_EQ(*sqlitePathFromUrl("", "data/"), "data/basalt.db");
  auto pg = sqlitePathFromUrl("postgresql://u@h/db", "data");
  ASSERT_FALSE(pg.has_value());
  EXPECT_NE(pg.error().message.find("postgresql://u@h/db"), std::string::npos);
  EXPECT_FALSE(sqlitePathFromUrl("sqlite:", "data").has_value());
}

TEST_F(StoreTest, PrincipalsRoundTripWithTagsAndKinds) {
  auto alice =
      store_->createPrincipal("alice", PrincipalKind::kUser, {{"team", "ml"}, {"cc", "42"}});
  ASSERT_TRUE(alice.has_value()) << alice.error().message;
  EXPECT_EQ(alice->id.rfind("prn_", 0), 0U);
  auto bot = store_->createPrincipal("ci-bot", PrincipalKind::kService);
  ASSERT_TRUE(bot.has_value());

  auto got = store_->principal("alice");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, alice->id);
  EXPECT_EQ(got->kind, PrincipalKind::kUser);
  const Tags expected = {{"cc", "42"}, {"team", "ml"}};  // sorted
  EXPECT_EQ(got->tags, expected);
  EXPECT_EQ(got->created_at, alice->created_at);
  EXPECT_EQ(store_->principalById(bot->id)->name, "ci-bot");

  auto all = store_->listPrincipals();
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[0].name, "alice");
  EXPECT_EQ((*all)[1].kind, PrincipalKind::kService);

  ASSERT_TRUE(store_->setPrincipalTags("alice", {{"team", "infra"}}).has_value());
  EXPECT_EQ(store_->principal("alice")->tags, (Tags{{"team", "infra"}}));
}

TEST_F(StoreTest, RejectsDuplicateAndInvalidNames) {
  ASSERT_TRUE(store_->createPrincipal("alice", PrincipalKind::kUser).has_value());
  auto dup = store_->createPrincipal("alice", PrincipalKind::kAgent);
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(dup.error().code, "already_exists");
  for (const char* bad : {"", "has space", "semi;colon", "quote\"", "slash/x"}) {
    auto r = store_->createPrincipal(bad, PrincipalKind::kUser);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, "invalid_name");
  }
  EXPECT_FALSE(store_->createPrincipal(std::string(129, 'a'), PrincipalKind::kUser).has_value());
  EXPECT_TRUE(store_->createPrincipal(std::string(128, 'a'), PrincipalKind::kUser).has_value());
  auto missing = store_->principal("nobody");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  auto dup_tags = store_->createPrincipal("bob", PrincipalKind::kUser, {{"a", "1"}, {"a", "2"}});
  ASSERT_FALSE(dup_tags.has_value());
}

TEST_F(StoreTest, GroupsAndMembership) {
  auto alice = store_->createPrincipal("alice", PrincipalKind::kUser);
  auto bob = store_->createPrincipal("bob", PrincipalKind::kUser);
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(store_->createGroup("admins").has_value());
  EXPECT_EQ(store_->createGroup("admins").error().code, "already_exists");
  ASSERT_TRUE(store_->addToGroup("admins", "alice").has_value());
  ASSERT_TRUE(store_->addToGroup("admins", "alice").has_value());  // idempotent
  ASSERT_TRUE(store_->addToGroup("devs", "alice").has_value());    // creates the group
  ASSERT_TRUE(store_->addToGroup("devs", "bob").has_value());
  EXPECT_EQ(store_->addToGroup("devs", "carol").error().kind, ErrorKind::kNotFound);

  EXPECT_EQ(store_->principal("alice")->groups, (std::vector<std::string>{"admins", "devs"}));
  auto groups = store_->listGroups();
  ASSERT_TRUE(groups.has_value());
  ASSERT_EQ(groups->size(), 2U);
  EXPECT_EQ((*groups)[0].member_ids, (std::vector<std::string>{alice->id}));
  EXPECT_EQ((*groups)[1].member_ids.size(), 2U);

  ASSERT_TRUE(store_->removeFromGroup("devs", "alice").has_value());
  EXPECT_EQ(store_->removeFromGroup("devs", "alice").error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(store_->principal("alice")->groups, (std::vector<std::string>{"admins"}));
  ASSERT_TRUE(store_->deleteGroup("admins").has_value());
  EXPECT_TRUE(store_->principal("alice")->groups.empty());
  EXPECT_EQ(store_->deleteGroup("admins").error().kind, ErrorKind::kNotFound);
}

TEST_F(StoreTest, KeysAddRevokeAndExpire) {
  auto alice = store_->createPrincipal("alice", PrincipalKind::kUser);
  ASSERT_TRUE(alice.has_value());
  ApiKey key;
  key.key_id = "abcdefghij012345";
  key.digest.fill(7);
  key.principal_id = alice->id;
  key.expires_at = Timestamp(std::chrono::milliseconds(1'900'000'000'000));
  ASSERT_TRUE(store_->addApiKey(key).has_value());
  EXPECT_EQ(store_->addApiKey(key).error().code, "already_exists");

  ApiKey orphan = key;
  orphan.key_id = "zzzzzzzzzzzzzzzz";
  orphan.principal_id = "prn_missing";
  EXPECT_FALSE(store_->addApiKey(orphan).has_value());  // foreign key

  AccessKey ak{"AKIAABCDEFGHIJKLMNOP", "secret/secret+secret", alice->id, {}, {}, {}};
  ASSERT_TRUE(store_->addAccessKey(ak).has_value());
  AccessKey clash = ak;
  clash.access_key_id = key.key_id;
  EXPECT_EQ(store_->addAccessKey(clash).error().code, "already_exists");

  auto keys = store_->listApiKeys();
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 1U);
  EXPECT_EQ((*keys)[0].digest, key.digest);
  EXPECT_EQ((*keys)[0].expires_at, key.expires_at);
  EXPECT_FALSE((*keys)[0].revoked_at.has_value());
  EXPECT_NE((*keys)[0].created_at, Timestamp{});

  ASSERT_TRUE(store_->revokeKey(key.key_id).has_value());
  const auto first_revocation = store_->listApiKeys()->at(0).revoked_at;
  ASSERT_TRUE(first_revocation.has_value());
  std::this_thread::sleep_for(5ms);  // so a second revocation would have a later time
  ASSERT_TRUE(store_->revokeKey(key.key_id).has_value());
  EXPECT_EQ(store_->listApiKeys()->at(0).revoked_at, first_revocation);

  ASSERT_TRUE(store_->revokeKey(ak.access_key_id).has_value());
  auto access = store_->listAccessKeys();
  ASSERT_TRUE(access.has_value());
  EXPECT_EQ(access->at(0).secret, ak.secret);
  EXPECT_TRUE(access->at(0).revoked_at.has_value());
  EXPECT_EQ(store_->revokeKey("nope").error().kind, ErrorKind::kNotFound);
}

TEST_F(StoreTest, PoliciesAttachmentsAndSubjects) {
  auto alice = store_->createPrincipal("alice", PrincipalKind::kUser);
  ASSERT_TRUE(alice.has_value());
  ASSERT_TRUE(store_->createGroup("devs").has_value());
  ASSERT_TRUE(store_->putPolicy("invoke", R"({"Version":"2012-10-17","Statement":[]})"));
  ASSERT_TRUE(store_->putPolicy("invoke", R"({"Version":"2012-10-17","Statement":[1]})"));
  EXPECT_EQ(store_->policy("invoke")->document, R"({"Version":"2012-10-17","Statement":[1]})");
  EXPECT_EQ(store_->policy("nope").error().kind, ErrorKind::kNotFound);

  auto subject = store_->resolveSubject("alice");
  ASSERT_TRUE(subject.has_value());
  EXPECT_EQ(*subject, (Subject{SubjectKind::kPrincipal, alice->id}));
  EXPECT_EQ(*store_->resolveSubject("devs"), (Subject{SubjectKind::kGroup, "devs"}));
  EXPECT_EQ(store_->resolveSubject("ghost").error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(store_->createGroup("alice").has_value());
  EXPECT_EQ(store_->resolveSubject("alice").error().code, "ambiguous_name");

  ASSERT_TRUE(store_->attachPolicy("invoke", *subject).has_value());
  ASSERT_TRUE(store_->attachPolicy("invoke", *subject).has_value());
  ASSERT_TRUE(store_->attachPolicy("invoke", {SubjectKind::kGroup, "devs"}).has_value());
  EXPECT_EQ(store_->attachPolicy("missing", *subject).error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(store_->attachPolicy("invoke", {SubjectKind::kGroup, "ghosts"}).error().kind,
            ErrorKind::kNotFound);
  ASSERT_EQ(store_->listAttachments()->size(), 2U);

  // Replacing the document keeps attachments; deleting the policy removes them.
  ASSERT_TRUE(store_->putPolicy("invoke", "{}"));
  EXPECT_EQ(store_->listAttachments()->size(), 2U);
  ASSERT_TRUE(store_->detachPolicy("invoke", {SubjectKind::kGroup, "devs"}).has_value());
  EXPECT_EQ(store_->listAttachments()->size(), 1U);
  ASSERT_TRUE(store_->deletePolicy("invoke").has_value());
  EXPECT_TRUE(store_->listAttachments()->empty());
}

TEST_F(StoreTest, QuotasUpsertAndValidate) {
  auto alice = store_->createPrincipal("alice", PrincipalKind::kUser);
  ASSERT_TRUE(alice.has_value());
  const Subject s{SubjectKind::kPrincipal, alice->id};
  ASSERT_TRUE(store_->setQuota({s, "", 60, 100000, std::nullopt}).has_value());
  ASSERT_TRUE(store_->setQuota({s, "gpt-5.5", 10, std::nullopt, 2}).has_value());
  ASSERT_TRUE(store_->setQuota({s, "", 30, std::nullopt, std::nullopt}).has_value());
  auto quotas = store_->listQuotas();
  ASSERT_TRUE(quotas.has_value());
  ASSERT_EQ(quotas->size(), 2U);
  EXPECT_EQ((*quotas)[0].model, "");
  EXPECT_EQ((*quotas)[0].rpm, 30);
  EXPECT_FALSE((*quotas)[0].tpm.has_value());
  EXPECT_EQ((*quotas)[1].concurrency, 2);
  auto bad = store_->setQuota({s, "", -1, std::nullopt, std::nullopt});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().param, "rpm");
  ASSERT_TRUE(store_->deleteQuota(s, "gpt-5.5").has_value());
  EXPECT_EQ(store_->deleteQuota(s, "gpt-5.5").error().kind, ErrorKind::kNotFound);
}

TEST_F(StoreTest, DeletingAPrincipalRemovesEverythingThatNamesIt) {
  auto alice = store_->createPrincipal("alice", PrincipalKind::kUser);
  ASSERT_TRUE(alice.has_value());
  ApiKey key;
  key.key_id = "k1k1k1k1k1k1k1k1";
  key.principal_id = alice->id;
  ASSERT_TRUE(store_->addApiKey(key).has_value());
  ASSERT_TRUE(store_->addToGroup("devs", "alice").has_value());
  ASSERT_TRUE(store_->putPolicy("p", "{}").has_value());
  ASSERT_TRUE(store_->attachPolicy("p", {SubjectKind::kPrincipal, alice->id}).has_value());
  ASSERT_TRUE(store_->setQuota({{SubjectKind::kPrincipal, alice->id}, "", 1, 1, 1}).has_value());
  ASSERT_TRUE(store_->deletePrincipal("alice").has_value());
  auto snap = store_->loadSnapshot();
  ASSERT_TRUE(snap.has_value());
  EXPECT_TRUE((*snap)->principals.empty());
  EXPECT_TRUE((*snap)->api_keys.empty());
  EXPECT_TRUE((*snap)->attachments.empty());
  EXPECT_TRUE((*snap)->quotas.empty());
  EXPECT_TRUE((*snap)->groups.at(0).member_ids.empty());
  EXPECT_EQ(store_->deletePrincipal("alice").error().kind, ErrorKind::kNotFound);
}

TEST_F(StoreTest, SnapshotHoldsEverythingAndTheCounterMovesOnEveryChange) {
  auto c0 = store_->changeCounter();
  ASSERT_TRUE(c0.has_value());
  auto alice = store_->createPrincipal("alice", PrincipalKind::kAgent, {{"env", "prod"}});
  ASSERT_TRUE(alice.has_value());
  ASSERT_TRUE(store_->addToGroup("devs", "alice").has_value());
  ApiKey key;
  key.key_id = "k1k1k1k1k1k1k1k1";
  key.principal_id = alice->id;
  ASSERT_TRUE(store_->addApiKey(key).has_value());
  ASSERT_TRUE(store_->addAccessKey({"AKIA0000000000000000", "s", alice->id, {}, {}, {}}));
  ASSERT_TRUE(store_->putPolicy("p", "{}").has_value());
  ASSERT_TRUE(store_->attachPolicy("p", {SubjectKind::kGroup, "devs"}).has_value());
  ASSERT_TRUE(store_->setQuota({{SubjectKind::kGroup, "devs"}, "m", 5, 6, 7}).has_value());
  auto c1 = store_->changeCounter();
  ASSERT_TRUE(c1.has_value());
  EXPECT_EQ(*c1, *c0 + 7);

  // A failed change does not move it.
  EXPECT_FALSE(store_->createPrincipal("alice", PrincipalKind::kUser).has_value());
  EXPECT_EQ(*store_->changeCounter(), *c1);

  auto snap = store_->loadSnapshot();
  ASSERT_TRUE(snap.has_value()) << snap.error().message;
  const Snapshot& s = **snap;
  EXPECT_EQ(s.change_counter, *c1);
  ASSERT_EQ(s.principals.size(), 1U);
  EXPECT_EQ(s.principals[0].kind, PrincipalKind::kAgent);
  EXPECT_EQ(s.principals[0].groups, (std::vector<std::string>{"devs"}));
  EXPECT_EQ(s.principals[0].tags, (Tags{{"env", "prod"}}));
  ASSERT_EQ(s.groups.size(), 1U);
  ASSERT_EQ(s.api_keys.size(), 1U);
  ASSERT_EQ(s.access_keys.size(), 1U);
  ASSERT_EQ(s.policies.size(), 1U);
  ASSERT_EQ(s.attachments.size(), 1U);
  EXPECT_EQ(s.attachments[0].subject, (Subject{SubjectKind::kGroup, "devs"}));
  ASSERT_EQ(s.quotas.size(), 1U);
  EXPECT_EQ(s.quotas[0].tpm, 6);

  // The snapshot is immutable: later changes show up in a new one only.
  ASSERT_TRUE(store_->revokeKey(key.key_id).has_value());
  EXPECT_FALSE(s.api_keys[0].revoked_at.has_value());
  EXPECT_TRUE((*store_->loadSnapshot())->api_keys[0].revoked_at.has_value());
}

TEST_F(StoreTest, AnotherStoreOnTheSameFileSeesChanges) {
  auto other = Store::open(dir_.file("basalt.db"));
  ASSERT_TRUE(other.has_value()) << other.error().message;
  const auto before = *(*other)->changeCounter();
  ASSERT_TRUE(store_->createPrincipal("alice", PrincipalKind::kUser).has_value());
  EXPECT_EQ(*(*other)->changeCounter(), before + 1);
  EXPECT_EQ((*(*other)->loadSnapshot())->principals.size(), 1U);
}

TEST_F(StoreTest, ConcurrentWritersFromSeveralThreads) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 25; ++i) {
        auto r = store_->createPrincipal("p" + std::to_string(t) + "_" + std::to_string(i),
                                         PrincipalKind::kService);
        EXPECT_TRUE(r.has_value());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store_->listPrincipals()->size(), 100U);
}

}  // namespace
}  // namespace basalt::storage
