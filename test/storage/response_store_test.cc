#include "basalt/storage/response_store.h"

#include "storage/temp_dir.h"

#include <gtest/gtest.h>

#include <thread>

namespace basalt::storage {
namespace {

StoredResponse sample(std::string id, std::string principal) {
  StoredResponse r;
  r.id = std::move(id);
  r.principal_id = std::move(principal);
  r.response = R"({"id":"resp_1","object":"response"})";
  r.conversation = R"([{"type":"message","role":"user","content":"hi"}])";
  return r;
}

TEST(ResponseStore, StoresAndReadsBackForItsOwnerOnly) {
  basalt::testing::TempDir dir;
  auto store = ResponseStore::open(dir.file("basalt.db"));
  ASSERT_TRUE(store.has_value()) << store.error().message;
  ASSERT_TRUE((*store)->put(sample("resp_1", "alice")).has_value());

  auto mine = (*store)->get("resp_1", "alice");
  ASSERT_TRUE(mine.has_value());
  ASSERT_TRUE(mine->has_value());
  EXPECT_EQ((*mine)->response, sample("", "").response);
  EXPECT_EQ((*mine)->conversation, sample("", "").conversation);
  EXPECT_GT((*mine)->created_at_ms, 0);

  auto theirs = (*store)->get("resp_1", "mallory");
  ASSERT_TRUE(theirs.has_value());
  EXPECT_FALSE(theirs->has_value());
  EXPECT_FALSE(*(*store)->remove("resp_1", "mallory"));
  EXPECT_TRUE(*(*store)->remove("resp_1", "alice"));
  EXPECT_FALSE((*(*store)->get("resp_1", "alice")).has_value());
}

TEST(ResponseStore, ExpiredRowsAreInvisibleAndSwept) {
  basalt::testing::TempDir dir;
  auto store = ResponseStore::open(dir.file("basalt.db"), std::chrono::hours(0));
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->put(sample("resp_old", "alice")).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_FALSE((*(*store)->get("resp_old", "alice")).has_value());
}

TEST(ResponseStore, RefusesOversizedRows) {
  basalt::testing::TempDir dir;
  auto store = ResponseStore::open(dir.file("basalt.db"));
  ASSERT_TRUE(store.has_value());
  StoredResponse big = sample("resp_big", "alice");
  big.conversation.assign(ResponseStore::kMaxRowBytes + 1, 'x');
  auto put = (*store)->put(big);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().kind, ErrorKind::kInvalidRequest);
}

}  // namespace
}  // namespace basalt::storage
