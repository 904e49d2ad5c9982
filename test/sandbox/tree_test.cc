// readTree / writeTree: what Basalt copies in and out of a directory the sandbox can write.
#include "basalt/sandbox/tree.h"

#include "sandbox_fixture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>

namespace basalt::sandbox {
namespace {

using testing::SandboxTest;

class TreeTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    dir_ = root_ / "store";
    std::filesystem::create_directories(dir_);
  }
  std::filesystem::path dir_;
};

std::vector<std::string> paths(const TreeSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& f : s.files) out.push_back(f.path);
  return out;
}

TEST_F(TreeTest, RoundTrip) {
  std::vector<TreeFile> files = {{"a.md", "alpha"}, {"notes/b.md", "beta"}, {"notes/x/c", ""}};
  ASSERT_TRUE(writeTree(dir_, files).has_value());
  EXPECT_EQ(slurp(dir_ / "notes" / "b.md"), "beta");
  auto snap = readTree(dir_);
  ASSERT_TRUE(snap.has_value()) << snap.error().message;
  EXPECT_EQ(paths(*snap), (std::vector<std::string>{"a.md", "notes/b.md", "notes/x/c"}));
  EXPECT_EQ(snap->files[0].content, "alpha");
  EXPECT_TRUE(snap->skipped.empty());
  // Rewriting: changed, unchanged and removed files.
  auto mtime = std::filesystem::last_write_time(dir_ / "a.md");
  ASSERT_TRUE(writeTree(dir_, {{"a.md", "alpha"}, {"notes/b.md", "BETA"}}).has_value());
  EXPECT_EQ(std::filesystem::last_write_time(dir_ / "a.md"), mtime);  // untouched
  EXPECT_EQ(slurp(dir_ / "notes" / "b.md"), "BETA");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "notes" / "x" / "c"));
}

TEST_F(TreeTest, ReadingNeverFollowsWhatTheSandboxPlanted) {
  spit(root_ / "secret.txt", "host secret\n");
  std::filesystem::create_directories(root_ / "secretdir");
  spit(root_ / "secretdir" / "s.txt", "host secret 2\n");
  spit(dir_ / "ok.md", "fine");
  std::filesystem::create_symlink(root_ / "secret.txt", dir_ / "link.md");
  std::filesystem::create_symlink(root_ / "secretdir", dir_ / "dirlink");
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0644), 0);
  auto fut = std::async(std::launch::async, [&] { return readTree(dir_); });
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);  // no FIFO hang
  auto snap = fut.get();
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(paths(*snap), (std::vector<std::string>{"ok.md"}));
  EXPECT_EQ(snap->skipped.size(), 3u);
  for (const auto& f : snap->files) EXPECT_EQ(f.content.find("host secret"), std::string::npos);
}

TEST_F(TreeTest, LimitsAreReportedNotRead) {
  spit(dir_ / "big", std::string(2000, 'x'));
  spit(dir_ / "small", "x");
  spit(dir_ / "d1" / "d2" / "deep", "x");
  TreeLimits limits;
  limits.max_file_bytes = 1000;
  limits.max_depth = 1;
  auto snap = readTree(dir_, limits);
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(paths(*snap), (std::vector<std::string>{"small"}));
  EXPECT_EQ(snap->skipped.size(), 2u);  // big, and d1/d2 too deep
}

TEST_F(TreeTest, WritingReplacesPlantedLinksInsteadOfWritingThroughThem) {
  spit(root_ / "victim.txt", "original\n");
  std::filesystem::create_directories(root_ / "victimdir");
  std::filesystem::create_symlink(root_ / "victim.txt", dir_ / "a.md");
  std::filesystem::create_symlink(root_ / "victimdir", dir_ / "sub");
  spit(dir_ / "hard_src", "h");
  ASSERT_EQ(::link((root_ / "victim.txt").c_str(), (dir_ / "hard.md").c_str()), 0);
  ASSERT_TRUE(writeTree(dir_, {{"a.md", "new"}, {"sub/b.md", "new"}, {"hard.md", "new"}}));
  EXPECT_EQ(slurp(root_ / "victim.txt"), "original\n");
  EXPECT_TRUE(std::filesystem::is_empty(root_ / "victimdir"));
  EXPECT_FALSE(std::filesystem::is_symlink(dir_ / "a.md"));
  EXPECT_EQ(slurp(dir_ / "a.md"), "new");
  EXPECT_TRUE(std::filesystem::is_directory(std::filesystem::symlink_status(dir_ / "sub")));
  EXPECT_EQ(slurp(dir_ / "sub" / "b.md"), "new");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "hard_src"));  // not listed: deleted
}

TEST_F(TreeTest, InvalidPathsAreRejected) {
  for (const char* bad : {"", "/abs", "../up", "a/../b", "a//b", "./a", "a/."}) {
    EXPECT_FALSE(writeTree(dir_, {{bad, "x"}}).has_value()) << bad;
  }
  EXPECT_FALSE(writeTree(dir_, {{"a", "x"}, {"a", "y"}}).has_value());
  EXPECT_FALSE(writeTree(dir_, {{"a", "x"}, {"a/b", "y"}}).has_value());
  EXPECT_FALSE(readTree(root_ / "missing").has_value());
}

}  // namespace
}  // namespace basalt::sandbox
