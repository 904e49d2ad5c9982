#include "basalt/agents/agent_store.h"

#include "basalt/agents/vault_cipher.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

namespace basalt::agents {
namespace {

class AgentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = AgentStore::open(dir_.file("basalt.db"), dir_.file("agents-vault.key"));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }

  std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  Session newSession(const std::string& owner = "alice") {
    auto agent = store_->createAgent(owner, R"({"name":"a"})");
    EXPECT_TRUE(agent);
    auto env = store_->createDocument(DocKind::kEnvironment, owner, R"({"name":"e"})");
    EXPECT_TRUE(env);
    AgentStore::NewSession ns{owner, owner, agent->id, agent->version, env->id, "{}"};
    auto s = store_->createSession(ns);
    EXPECT_TRUE(s) << s.error().message;
    return *s;
  }

  testing::TempDir dir_;
  std::unique_ptr<AgentStore> store_;
  Access alice_{"alice", false};
  Access bob_{"bob", false};
};

TEST_F(AgentStoreTest, DocumentsRoundTripAndStayWithTheirOwner) {
  auto env = store_->createDocument(DocKind::kEnvironment, "alice", R"({"name":"dev"})");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->id.rfind("env_", 0), 0U);
  auto got = store_->getDocument(DocKind::kEnvironment, alice_, env->id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, R"({"name":"dev"})");

  // Another principal: not found (never "forbidden"), for reads and writes alike.
  auto other = store_->getDocument(DocKind::kEnvironment, bob_, env->id);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().kind, ErrorKind::kNotFound);
  EXPECT_FALSE(store_->updateDocument(DocKind::kEnvironment, bob_, env->id, "{}"));
  EXPECT_FALSE(store_->deleteDocument(DocKind::kEnvironment, bob_, env->id));
  // Root sees everything.
  EXPECT_TRUE(store_->getDocument(DocKind::kEnvironment, Access::rootAccess(), env->id));
  // A vault id is not an environment id.
  EXPECT_FALSE(store_->getDocument(DocKind::kVault, alice_, env->id));

  auto archived = store_->archiveDocument(DocKind::kEnvironment, alice_, env->id);
  ASSERT_TRUE(archived);
  EXPECT_TRUE(archived->archived_at_ms.has_value());
  auto listed = store_->listDocuments(DocKind::kEnvironment, alice_, {});
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->items.empty());
  ListOptions with_archived;
  with_archived.include_archived = true;
  EXPECT_EQ(store_->listDocuments(DocKind::kEnvironment, alice_, with_archived)->items.size(), 1U);
  EXPECT_TRUE(store_->listDocuments(DocKind::kEnvironment, bob_, with_archived)->items.empty());
}

TEST_F(AgentStoreTest, ListingPagesWithCursors) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->createDocument(DocKind::kVault, "alice",
                                       R"({"display_name":"v)" + std::to_string(i) + R"("})"));
  }
  ListOptions o;
  o.limit = 2;
  std::vector<std::string> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store_->listDocuments(DocKind::kVault, alice_, o);
    ASSERT_TRUE(page) << page.error().message;
    for (const Document& d : page->items) seen.push_back(d.body);
    if (page->next_page.empty()) break;
    o.page = page->next_page;
  }
  ASSERT_EQ(seen.size(), 5U);
  EXPECT_EQ(seen.front(), R"({"display_name":"v4"})");  // newest first
  EXPECT_EQ(seen.back(), R"({"display_name":"v0"})");
  o.page = "bogus";
  EXPECT_FALSE(store_->listDocuments(DocKind::kVault, alice_, o));
}

TEST_F(AgentStoreTest, AgentUpdatesMakeImmutableVersions) {
  auto a = store_->createAgent("alice", R"({"name":"a","system":"one"})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->version, 1);
  auto b = store_->updateAgent(alice_, a->id, 1, R"({"name":"a","system":"two"})");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->version, 2);
  // Same body: no new version.
  auto same = store_->updateAgent(alice_, a->id, std::nullopt, R"({"name":"a","system":"two"})");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->version, 2);
  // A stale expected version is a conflict.
  auto stale = store_->updateAgent(alice_, a->id, 1, R"({"name":"a","system":"three"})");
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, kConflictCode);
  // Old versions stay readable, unchanged.
  auto v1 = store_->getAgent(alice_, a->id, 1);
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->body, R"({"name":"a","system":"one"})");
  EXPECT_EQ(v1->latest_version, 2);
  EXPECT_FALSE(store_->getAgent(alice_, a->id, 3));
  auto versions = store_->listAgentVersions(alice_, a->id, {});
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->items.size(), 2U);
  EXPECT_EQ(versions->items[0].version, 2);
  EXPECT_FALSE(store_->getAgent(bob_, a->id));
  EXPECT_FALSE(store_->updateAgent(bob_, a->id, std::nullopt, "{}"));
}

TEST_F(AgentStoreTest, EventsGetMonotonicSeqAndCursors) {
  Session s = newSession();
  std::vector<std::pair<std::string, std::int64_t>> published;
  store_->setAppendListener(
      [&](const std::string& id, std::int64_t seq) { published.emplace_back(id, seq); });
  auto sent = store_->sendUserEvents(
      alice_, s.id,
      {NewEvent{"user.message", R"({"content":[]})"}, NewEvent{"user.interrupt", "{}"}});
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_EQ(sent->size(), 2U);
  EXPECT_EQ((*sent)[0].seq, 1);
  EXPECT_EQ((*sent)[1].seq, 2);
  EXPECT_FALSE((*sent)[0].processed_at_ms.has_value());  // queued for the runtime
  ASSERT_EQ(published.size(), 1U);
  EXPECT_EQ(published[0].second, 2);

  auto more = store_->appendEvents(s.id, {NewEvent{"agent.message", "{}", "", true}},
                                   StatusChange{SessionStatus::kRunning, ""});
  ASSERT_TRUE(more);
  EXPECT_EQ((*more)[0].seq, 3);
  auto session = store_->getSession(alice_, s.id);
  EXPECT_EQ(session->status, SessionStatus::kRunning);
  EXPECT_EQ(session->last_seq, 3);

  EventListOptions o;
  o.limit = 2;
  auto p1 = store_->listEvents(alice_, s.id, o);
  ASSERT_TRUE(p1);
  ASSERT_EQ(p1->items.size(), 2U);
  EXPECT_FALSE(p1->next_page.empty());
  o.page = p1->next_page;
  auto p2 = store_->listEvents(alice_, s.id, o);
  ASSERT_EQ(p2->items.size(), 1U);
  EXPECT_EQ(p2->items[0].type, "agent.message");
  EXPECT_TRUE(p2->next_page.empty());
  EventListOptions desc;
  desc.ascending = false;
  desc.types = {"user.message", "agent.message"};
  auto d = store_->listEvents(alice_, s.id, desc);
  ASSERT_EQ(d->items.size(), 2U);
  EXPECT_EQ(d->items[0].seq, 3);

  // Resume point for streams.
  auto seq = store_->eventSeq(s.id, (*sent)[1].id);
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, 2);
  auto after = store_->eventsAfter(s.id, *seq);
  ASSERT_EQ(after->size(), 1U);
  EXPECT_EQ((*after)[0].seq, 3);

  EXPECT_EQ(store_->queuedEvents(s.id)->size(), 2U);
  ASSERT_TRUE(store_->markProcessed(s.id, 1));
  EXPECT_EQ(store_->queuedEvents(s.id)->size(), 1U);

  EXPECT_FALSE(store_->listEvents(bob_, s.id, {}));
  EXPECT_FALSE(store_->sendUserEvents(bob_, s.id, {NewEvent{"user.interrupt", "{}"}}));
}

TEST_F(AgentStoreTest, ToolAnswersMustReferToAnOpenToolUse) {
  Session s = newSession();
  auto uses = store_->appendEvents(
      s.id,
      {NewEvent{"agent.custom_tool_use", R"({"name":"lookup","input":{}})", "", true},
       NewEvent{"agent.tool_use", R"({"name":"bash","evaluated_permission":"ask"})", "", true},
       NewEvent{"agent.tool_use", R"({"name":"read","evaluated_permission":"allow"})", "", true}});
  ASSERT_TRUE(uses);
  const std::string custom = (*uses)[0].id, ask = (*uses)[1].id, allowed = (*uses)[2].id;

  auto unknown = store_->sendUserEvents(alice_, s.id,
                                        {NewEvent{"user.custom_tool_result", "{}", "sevt_nope"}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().param, "events[0].custom_tool_use_id");
  // A confirmation for a tool use that was not awaiting one.
  auto not_pending =
      store_->sendUserEvents(alice_, s.id, {NewEvent{"user.tool_confirmation", "{}", allowed}});
  ASSERT_FALSE(not_pending);
  EXPECT_EQ(not_pending.error().param, "events[0].tool_use_id");
  // The same answer twice in one batch: nothing is appended.
  auto twice = store_->sendUserEvents(alice_, s.id,
                                      {NewEvent{"user.custom_tool_result", "{}", custom},
                                       NewEvent{"user.custom_tool_result", "{}", custom}});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().param, "events[1].custom_tool_use_id");
  EXPECT_EQ(store_->getSession(alice_, s.id)->last_seq, 3);

  ASSERT_TRUE(store_->sendUserEvents(alice_, s.id,
                                     {NewEvent{"user.custom_tool_result", "{}", custom},
                                      NewEvent{"user.tool_confirmation", "{}", ask}}));
  auto again =
      store_->sendUserEvents(alice_, s.id, {NewEvent{"user.custom_tool_result", "{}", custom}});
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("already"), std::string::npos);
  EXPECT_FALSE(
      store_->sendUserEvents(alice_, s.id, {NewEvent{"user.tool_confirmation", "{}", ask}}));

  ASSERT_TRUE(store_->appendEvents(s.id, {}, StatusChange{SessionStatus::kTerminated, ""}));
  EXPECT_FALSE(store_->sendUserEvents(alice_, s.id, {NewEvent{"user.interrupt", "{}"}}));
}

TEST_F(AgentStoreTest, LeasesHaveOneHolderAndExpire) {
  Session s = newSession();
  ASSERT_TRUE(store_->appendEvents(s.id, {}, StatusChange{SessionStatus::kRunning, ""}));
  EXPECT_EQ(*store_->sessionsWithExpiredLease(), std::vector<std::string>{s.id});
  EXPECT_TRUE(*store_->claimLease(s.id, "w1", std::chrono::minutes(1)));
  EXPECT_FALSE(*store_->claimLease(s.id, "w2", std::chrono::minutes(1)));
  EXPECT_TRUE(*store_->renewLease(s.id, "w1", std::chrono::minutes(1)));
  EXPECT_FALSE(*store_->renewLease(s.id, "w2", std::chrono::minutes(1)));
  EXPECT_TRUE(store_->sessionsWithExpiredLease()->empty());
  // An expired lease (the worker died) can be taken over and is reported.
  ASSERT_TRUE(*store_->claimLease(s.id, "w1", std::chrono::milliseconds(-1)));
  EXPECT_EQ(store_->sessionsWithExpiredLease()->size(), 1U);
  EXPECT_TRUE(*store_->claimLease(s.id, "w2", std::chrono::minutes(1)));
  ASSERT_TRUE(store_->releaseLease(s.id, "w2"));
  EXPECT_TRUE(*store_->claimLease(s.id, "w3", std::chrono::minutes(1)));
  EXPECT_FALSE(store_->claimLease("sesn_missing", "w1", std::chrono::minutes(1)));
}

TEST_F(AgentStoreTest, CredentialSecretsAreEncryptedAtRest) {
  const std::string token = "tok-5f1e2d3c4b5a69788796a5b4c3d2e1f0";
  auto vault = store_->createDocument(DocKind::kVault, "alice", R"({"display_name":"v"})");
  ASSERT_TRUE(vault);
  auto cred = store_->createCredential(
      alice_, vault->id, "https://mcp.example/mcp",
      R"({"auth":{"type":"static_bearer","mcp_server_url":"https://mcp.example/mcp"}})",
      R"({"token":")" + token + R"("})");
  ASSERT_TRUE(cred) << cred.error().message;
  EXPECT_EQ(cred->body.find(token), std::string::npos);

  auto dup = store_->createCredential(alice_, vault->id, "https://mcp.example/mcp", "{}", "{}");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, kConflictCode);

  auto secret = store_->credentialSecret(alice_, vault->id, cred->id);
  ASSERT_TRUE(secret);
  EXPECT_NE(secret->find(token), std::string::npos);
  EXPECT_FALSE(store_->credentialSecret(bob_, vault->id, cred->id));
  EXPECT_FALSE(store_->getCredential(bob_, vault->id, cred->id));

  // The raw database (file and WAL) never holds the token.
  store_.reset();
  EXPECT_EQ(readFile(dir_.file("basalt.db")).find(token), std::string::npos);
  EXPECT_EQ(readFile(dir_.file("basalt.db-wal")).find(token), std::string::npos);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.file("basalt.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT secret, body FROM agent_vault_credentials", -1, &st, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  const std::string raw(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                        static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
  EXPECT_EQ(raw.find(token), std::string::npos);
  EXPECT_GT(raw.size(), 28U);
  sqlite3_finalize(st);
  sqlite3_close(db);

  struct stat key_stat {};
  ASSERT_EQ(::stat(dir_.file("agents-vault.key").c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600);
  EXPECT_EQ(key_stat.st_size, 32);

  // Reopened with the same key file, the secret opens again.
  auto reopened = AgentStore::open(dir_.file("basalt.db"), dir_.file("agents-vault.key"));
  ASSERT_TRUE(reopened);
  auto again = (*reopened)->credentialSecret(alice_, vault->id, cred->id);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_NE(again->find(token), std::string::npos);
}

TEST(VaultCipherTest, SealedValuesAreBoundToKeyAndRow) {
  auto c = VaultCipher::fromKey(std::string(32, 'k'));
  ASSERT_TRUE(c);
  auto sealed = c->seal("secret", "row-1");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(*c->open(*sealed, "row-1"), "secret");
  EXPECT_FALSE(c->open(*sealed, "row-2"));
  std::string tampered = *sealed;
  tampered[14] ^= 1;
  EXPECT_FALSE(c->open(tampered, "row-1"));
  auto other = VaultCipher::fromKey(std::string(32, 'x'));
  EXPECT_FALSE(other->open(*sealed, "row-1"));
  EXPECT_FALSE(VaultCipher::fromKey("short"));
}

TEST_F(AgentStoreTest, MemoriesKeepEveryVersion) {
  auto ms = store_->createDocument(DocKind::kMemoryStore, "alice", R"({"name":"notes"})");
  ASSERT_TRUE(ms);
  const std::string actor = R"({"type":"api_actor","api_key_id":"k1"})";
  auto m = store_->createMemory(alice_, ms->id, "/prefs/editor.md", "vim", actor);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->content_sha256, sha256Hex("vim"));
  EXPECT_FALSE(store_->createMemory(alice_, ms->id, "/prefs/editor.md", "x", actor));
  EXPECT_FALSE(store_->createMemory(alice_, ms->id, "no-slash", "x", actor));
  EXPECT_FALSE(store_->createMemory(alice_, ms->id, "/a/../b", "x", actor));
  EXPECT_FALSE(store_->createMemory(bob_, ms->id, "/x", "x", actor));

  auto stale = store_->updateMemory(alice_, ms->id, m->id, std::string_view("emacs"), std::nullopt,
                                    std::string_view("deadbeef"), actor);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, kConflictCode);
  auto up = store_->updateMemory(alice_, ms->id, m->id, std::string_view("emacs"), std::nullopt,
                                 std::string_view(m->content_sha256), actor);
  ASSERT_TRUE(up);
  EXPECT_NE(up->version_id, m->version_id);
  auto by_path = store_->getMemoryByPath(alice_, ms->id, "/prefs/editor.md");
  ASSERT_TRUE(by_path);
  EXPECT_EQ(by_path->content, "emacs");
  ASSERT_TRUE(store_->deleteMemory(alice_, ms->id, m->id, std::nullopt, actor));
  EXPECT_FALSE(store_->getMemory(alice_, ms->id, m->id));

  auto versions = store_->listMemoryVersions(alice_, ms->id, {});
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->items.size(), 3U);
  EXPECT_EQ(versions->items[0].operation, "deleted");
  EXPECT_EQ(versions->items[1].operation, "modified");
  EXPECT_EQ(versions->items[2].operation, "created");
  EXPECT_EQ(*versions->items[2].content, "vim");
  EXPECT_EQ(versions->items[2].actor, actor);

  // Restore the first version: the memory comes back (same id) with a new version.
  auto restored = store_->restoreMemoryVersion(alice_, ms->id, versions->items[2].id, actor);
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(restored->id, m->id);
  EXPECT_EQ(restored->content, "vim");
  EXPECT_EQ(store_->listMemoryVersions(alice_, ms->id, {})->items.size(), 4U);
  EXPECT_FALSE(store_->restoreMemoryVersion(alice_, ms->id, versions->items[0].id, actor));

  auto redacted = store_->redactMemoryVersion(alice_, ms->id, versions->items[1].id);
  ASSERT_TRUE(redacted);
  EXPECT_FALSE(redacted->content.has_value());
  EXPECT_TRUE(redacted->redacted_at_ms.has_value());
  EXPECT_FALSE(store_->listMemoryVersions(bob_, ms->id, {}));
}

TEST_F(AgentStoreTest, MemoryListingRollsUpDeepPaths) {
  auto ms = store_->createDocument(DocKind::kMemoryStore, "alice", R"({"name":"n"})");
  ASSERT_TRUE(ms);
  for (const char* p : {"/a.md", "/dir/b.md", "/dir/c.md", "/dir/sub/d.md", "/other/e.md"}) {
    ASSERT_TRUE(store_->createMemory(alice_, ms->id, p, "x", "{}"));
  }
  MemoryListOptions o;
  o.path_prefix = "/";
  o.depth = 1;
  auto page = store_->listMemories(alice_, ms->id, o);
  ASSERT_TRUE(page);
  std::vector<std::string> items;
  for (const auto& it : page->items)
    items.push_back(it.is_prefix ? "P" + it.prefix : it.memory.path);
  EXPECT_EQ(items, (std::vector<std::string>{"/a.md", "P/dir/", "P/other/"}));
  o.path_prefix = "/dir/";
  o.depth.reset();
  EXPECT_EQ(store_->listMemories(alice_, ms->id, o)->items.size(), 3U);
}

}  // namespace
}  // namespace basalt::agents
