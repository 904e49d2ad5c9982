#pragma once
// Golden-file plumbing shared by the codec tests (test/golden/<format>/): read and write case
// files, list the cases of a kind, and the BASALT_GOLDEN_UPDATE=1 switch that rewrites the
// expected files instead of comparing (review the diff after).

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::testing::golden {

inline std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void writeFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

/// BASALT_GOLDEN_UPDATE=1: tests write what they produce as the new expected files.
inline bool updating() {
  const char* v = std::getenv("BASALT_GOLDEN_UPDATE");
  return v != nullptr && std::string(v) == "1";
}

/// Parses `text` (a test failure naming `where` when it is not JSON).
inline boost::json::value parseOrFail(const std::string& text, const std::filesystem::path& where) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << where << ": " << ec.message();
  return v;
}

/// The case names in `dir`: file names ending in `suffix`, without it, sorted.
inline std::vector<std::string> cases(const std::filesystem::path& dir, std::string_view suffix) {
  std::vector<std::string> names;
  for (const std::filesystem::directory_entry& e : std::filesystem::directory_iterator(dir)) {
    const std::string file = e.path().filename().string();
    if (file.size() > suffix.size() && file.ends_with(suffix)) {
      names.push_back(file.substr(0, file.size() - suffix.size()));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace basalt::testing::golden
