#pragma once
// A temporary sandbox root per test, removed afterwards.

#include "basalt/sandbox/sandbox.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace basalt::sandbox::testing {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "basalt-sbx-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  std::unique_ptr<Sandbox> make(SandboxOptions opts = {}) {
    if (opts.root.empty()) opts.root = root_;
    if (opts.session_id.empty()) opts.session_id = "sess_" + std::to_string(++counter_);
    auto sb = Sandbox::open(std::move(opts));
    EXPECT_TRUE(sb.has_value()) << (sb ? "" : sb.error().message);
    return sb ? std::move(*sb) : nullptr;
  }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static void spit(const std::filesystem::path& p, const std::string& s) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << s;
  }

  std::filesystem::path root_;
  int counter_ = 0;
};

/// Skips a test that needs commands when bwrap cannot run on this machine (the reason is shown).
#define BASALT_REQUIRE_COMMANDS(sb)                                                 \
  do {                                                                              \
    ASSERT_NE((sb), nullptr);                                                       \
    if (!(sb)->support().commands) {                                                \
      GTEST_SKIP() << "bubblewrap unusable here: " << (sb)->support().reason        \
                   << " (scripts/install-deps.sh installs the bubblewrap package)"; \
    }                                                                               \
  } while (0)

}  // namespace basalt::sandbox::testing
