// The in-process file tools: confinement (.., absolute paths, symlinks), read/write/edit
// semantics, glob and grep results. None of these need bubblewrap.
#include "basalt/sandbox/tools.h"

#include "sandbox_fixture.h"

#include <boost/json/parse.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <sstream>

namespace basalt::sandbox {
namespace {

using testing::SandboxTest;

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string pathInput(const std::string& path, const std::string& extra = "") {
  return "{\"file_path\":" + jsonString(path) + extra + "}";
}

class ToolsTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    sb_ = make();
    ASSERT_NE(sb_, nullptr);
    ws_ = sb_->workspaceDir();
  }
  ToolOutcome write(const std::string& path, const std::string& content) {
    return writeTool(*sb_, pathInput(path, ",\"content\":" + jsonString(content)));
  }
  ToolOutcome read(const std::string& path, const std::string& extra = "") {
    return readTool(*sb_, pathInput(path, extra));
  }
  ToolOutcome edit(const std::string& path, const std::string& old_s, const std::string& new_s,
                   bool all = false) {
    return editTool(*sb_, pathInput(path, ",\"old_string\":" + jsonString(old_s) +
                                              ",\"new_string\":" + jsonString(new_s) +
                                              (all ? ",\"replace_all\":true" : "")));
  }
  std::unique_ptr<Sandbox> sb_;
  std::filesystem::path ws_;
};

TEST_F(ToolsTest, WriteThenReadWithLineNumbers) {
  auto w = write("notes/today.txt", "one\ntwo\nthree\n");
  EXPECT_FALSE(w.is_error) << w.content;
  EXPECT_EQ(w.content, "File created successfully at: /workspace/notes/today.txt");
  EXPECT_EQ(slurp(ws_ / "notes" / "today.txt"), "one\ntwo\nthree\n");
  auto r = read("/workspace/notes/today.txt");
  EXPECT_FALSE(r.is_error) << r.content;
  EXPECT_EQ(r.content, "     1\tone\n     2\ttwo\n     3\tthree\n");
  r = read("notes/today.txt", ",\"offset\":2,\"limit\":1");
  EXPECT_EQ(r.content, "     2\ttwo\n");
  r = read("notes/today.txt", ",\"offset\":9223372036854775807,\"limit\":9223372036854775807");
  EXPECT_FALSE(r.is_error);
  EXPECT_NE(r.content.find("past the end"), std::string::npos);
  r = read("notes/today.txt", ",\"offset\":10");
  EXPECT_FALSE(r.is_error);
  EXPECT_NE(r.content.find("past the end"), std::string::npos);
  w = write("notes/today.txt", "replaced");
  EXPECT_EQ(w.content, "The file /workspace/notes/today.txt has been overwritten.");
  EXPECT_EQ(slurp(ws_ / "notes" / "today.txt"), "replaced");
  r = read("notes/today.txt");
  EXPECT_EQ(r.content, "     1\treplaced\n");
  if (::geteuid() == 0) {
    struct stat st {};
    ASSERT_EQ(::stat((ws_ / "notes" / "today.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u);  // the sandboxed commands can modify it
  }
}

TEST_F(ToolsTest, ReadErrors) {
  EXPECT_TRUE(read("missing.txt").is_error);
  std::filesystem::create_directories(ws_ / "dir");
  auto r = read("dir");
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(r.content.find("directory"), std::string::npos);
  spit(ws_ / "bin.dat", std::string("ab\0cd", 5));
  r = read("bin.dat");
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(r.content.find("Binary"), std::string::npos);
  spit(ws_ / "empty.txt", "");
  r = read("empty.txt");
  EXPECT_FALSE(r.is_error);
  EXPECT_NE(r.content.find("empty"), std::string::npos);
  spit(ws_ / "bad.txt",
       "a\xff"
       "b\n");
  r = read("bad.txt");
  EXPECT_EQ(r.content,
            "     1\ta\xEF\xBF\xBD"
            "b\n");
}

TEST_F(ToolsTest, AFifoDoesNotHangTheReader) {
  ASSERT_EQ(::mkfifo((ws_ / "pipe").c_str(), 0644), 0);
  auto fut = std::async(std::launch::async, [&] { return read("pipe"); });
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(fut.get().is_error);
  EXPECT_TRUE(write("pipe", "x").is_error);
}

TEST_F(ToolsTest, PathsOutsideTheWorkspaceAreRejected) {
  spit(root_ / "outside.txt", "secret\n");
  const std::string outside = (root_ / "outside.txt").string();
  for (const std::string& p : std::vector<std::string>{
           std::string("../outside.txt"), std::string("../../outside.txt"),
           std::string("/workspace/../outside.txt"), std::string("a/../../outside.txt"),
           std::string("/etc/passwd"), outside, std::string("/"), std::string("/workspacex/a")}) {
    auto r = read(p);
    EXPECT_TRUE(r.is_error) << p;
    EXPECT_EQ(r.content.find("secret"), std::string::npos) << p;
    auto w = write(p, "pwned");
    EXPECT_TRUE(w.is_error) << p;
  }
  EXPECT_EQ(slurp(root_ / "outside.txt"), "secret\n");
  EXPECT_FALSE(std::filesystem::exists(root_ / "sess_1" / "pwned"));
  // `..` that stays inside is fine.
  EXPECT_FALSE(write("a/b/../c.txt", "ok").is_error);
  EXPECT_EQ(slurp(ws_ / "a" / "c.txt"), "ok");
  EXPECT_TRUE(read("").is_error);
}

TEST_F(ToolsTest, SymlinksCannotEscape) {
  spit(root_ / "outside.txt", "secret\n");
  std::filesystem::create_directories(root_ / "outdir");
  spit(root_ / "outdir" / "f.txt", "secret2\n");
  std::filesystem::create_symlink(root_ / "outside.txt", ws_ / "abs_link");
  std::filesystem::create_symlink("../outside.txt", ws_ / "rel_link");
  std::filesystem::create_symlink(root_ / "outdir", ws_ / "dir_link");
  std::filesystem::create_symlink("/etc", ws_ / "etc_link");
  for (std::string p :
       {"abs_link", "rel_link", "dir_link/f.txt", "etc_link/passwd", "dir_link/new.txt"}) {
    auto r = read(p);
    EXPECT_TRUE(r.is_error) << p;
    EXPECT_EQ(r.content.find("secret"), std::string::npos) << p;
    EXPECT_TRUE(write(p, "pwned").is_error) << p;
    EXPECT_TRUE(edit(p, "secret", "pwned").is_error) << p;
  }
  EXPECT_EQ(slurp(root_ / "outside.txt"), "secret\n");
  EXPECT_EQ(slurp(root_ / "outdir" / "f.txt"), "secret2\n");
  EXPECT_FALSE(std::filesystem::exists(root_ / "outdir" / "new.txt"));
  // A symlink that stays inside the workspace is followed.
  spit(ws_ / "real.txt", "inside\n");
  std::filesystem::create_symlink("real.txt", ws_ / "inner_link");
  auto r = read("inner_link");
  EXPECT_FALSE(r.is_error) << r.content;
  EXPECT_EQ(r.content, "     1\tinside\n");
  // Search tools do not descend through the escaping directory links.
  auto g = grepTool(*sb_, R"({"pattern":"secret"})");
  EXPECT_EQ(g.content.find("secret"), std::string::npos) << g.content;
  EXPECT_EQ(g.content, "No matches found");
  auto gl = globTool(*sb_, R"({"pattern":"**/*.txt"})");
  EXPECT_EQ(gl.content.find("f.txt"), std::string::npos) << gl.content;
}

TEST_F(ToolsTest, HardLinkedFilesAreNotModified) {
  spit(ws_ / "a.txt", "shared\n");
  ASSERT_EQ(::link((ws_ / "a.txt").c_str(), (ws_ / "b.txt").c_str()), 0);
  EXPECT_TRUE(write("b.txt", "x").is_error);
  EXPECT_TRUE(edit("b.txt", "shared", "x").is_error);
  EXPECT_EQ(slurp(ws_ / "a.txt"), "shared\n");
}

TEST_F(ToolsTest, EditRequiresAUniqueMatchUnlessReplaceAll) {
  spit(ws_ / "code.py", "x = 1\ny = 1\nprint(x)\n");
  auto r = edit("code.py", " = 1", " = 2");
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(r.content.find("2 times"), std::string::npos) << r.content;
  EXPECT_EQ(slurp(ws_ / "code.py"), "x = 1\ny = 1\nprint(x)\n");
  r = edit("code.py", "x = 1", "x = 10");
  EXPECT_FALSE(r.is_error) << r.content;
  EXPECT_EQ(slurp(ws_ / "code.py"), "x = 10\ny = 1\nprint(x)\n");
  r = edit("code.py", "1", "3", true);
  EXPECT_FALSE(r.is_error) << r.content;
  EXPECT_NE(r.content.find("2 replacements"), std::string::npos) << r.content;
  EXPECT_EQ(slurp(ws_ / "code.py"), "x = 30\ny = 3\nprint(x)\n");
  r = edit("code.py", "absent", "z");
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(r.content.find("not found"), std::string::npos);
  EXPECT_TRUE(edit("code.py", "x", "x").is_error);  // identical
  EXPECT_TRUE(edit("missing.py", "a", "b").is_error);
  EXPECT_TRUE(edit("code.py", "", "new").is_error);  // exists: needs old_string
  r = edit("new/file.txt", "", "fresh\n");
  EXPECT_FALSE(r.is_error) << r.content;
  EXPECT_EQ(slurp(ws_ / "new" / "file.txt"), "fresh\n");
  // Shrinking edits leave no stale tail.
  r = edit("code.py", "x = 30\ny = 3\nprint(x)\n", "z\n");
  EXPECT_FALSE(r.is_error) << r.content;
  EXPECT_EQ(slurp(ws_ / "code.py"), "z\n");
}

TEST_F(ToolsTest, InvalidInputIsAToolError) {
  for (const char* in : {"", "nope", "[]", "{}", R"({"file_path":7})",
                         R"({"file_path":"a","offset":"x"})", R"({"file_path":"a","limit":0})"}) {
    EXPECT_TRUE(readTool(*sb_, in).is_error) << in;
  }
  EXPECT_TRUE(writeTool(*sb_, R"({"file_path":"a"})").is_error);
  EXPECT_TRUE(writeTool(*sb_, R"({"file_path":"/workspace","content":"x"})").is_error);
  EXPECT_TRUE(editTool(*sb_, R"({"file_path":"a","old_string":"x"})").is_error);
  EXPECT_TRUE(
      editTool(*sb_, R"({"file_path":"a","old_string":"x","new_string":"y","replace_all":"yes"})")
          .is_error);
  EXPECT_TRUE(globTool(*sb_, R"({})").is_error);
  EXPECT_TRUE(globTool(*sb_, R"({"pattern":"../*"})").is_error);
  EXPECT_TRUE(grepTool(*sb_, R"({"pattern":"("})").is_error);
  EXPECT_TRUE(grepTool(*sb_, R"({"pattern":"x","output_mode":"lines"})").is_error);
  EXPECT_TRUE(grepTool(*sb_, R"({"pattern":"x","path":"/etc"})").is_error);
  auto u = runTool(*sb_, "web_fetch", "{}");
  EXPECT_TRUE(u.is_error);
  EXPECT_TRUE(isSandboxTool("grep"));
  EXPECT_FALSE(isSandboxTool("web_fetch"));
}

TEST_F(ToolsTest, GlobFindsFilesNewestFirst) {
  spit(ws_ / "a.py", "");
  spit(ws_ / "src" / "b.py", "");
  spit(ws_ / "src" / "deep" / "c.py", "");
  spit(ws_ / "src" / "d.txt", "");
  spit(ws_ / ".hidden" / "e.py", "");
  // Make the order deterministic: a.py is the newest.
  auto now = std::filesystem::file_time_type::clock::now();
  std::filesystem::last_write_time(ws_ / "src" / "deep" / "c.py", now - std::chrono::hours(3));
  std::filesystem::last_write_time(ws_ / "src" / "b.py", now - std::chrono::hours(2));
  std::filesystem::last_write_time(ws_ / "a.py", now - std::chrono::hours(1));
  auto r = globTool(*sb_, R"({"pattern":"**/*.py"})");
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(r.content, "/workspace/a.py\n/workspace/src/b.py\n/workspace/src/deep/c.py\n");
  r = globTool(*sb_, R"({"pattern":"*.py"})");
  EXPECT_EQ(r.content, "/workspace/a.py\n");
  r = globTool(*sb_, R"({"pattern":"*.{py,txt}","path":"/workspace/src"})");
  EXPECT_EQ(r.content, "/workspace/src/d.txt\n/workspace/src/b.py\n");
  r = globTool(*sb_, R"({"pattern":".hidden/*.py"})");
  EXPECT_EQ(r.content, "/workspace/.hidden/e.py\n");
  r = globTool(*sb_, R"({"pattern":"/workspace/src/**/c.py"})");
  EXPECT_EQ(r.content, "/workspace/src/deep/c.py\n");
  r = globTool(*sb_, R"({"pattern":"*.rs"})");
  EXPECT_EQ(r.content, "No files found");
}

TEST_F(ToolsTest, GlobSyntaxAndNoPathologicalPatterns) {
  for (const char* f : {"a1.txt", "b2.txt", "c3.txt", "x.md", "[lit].txt", ".env"}) {
    spit(ws_ / f, "");
  }
  auto names = [&](const std::string& pattern) {
    auto r = globTool(*sb_, "{\"pattern\":" + jsonString(pattern) + "}");
    EXPECT_FALSE(r.is_error) << r.content;
    std::vector<std::string> out;
    std::istringstream in(r.content);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("/workspace/", 0) == 0) out.push_back(line.substr(11));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("[ab]*.txt"), (V{"a1.txt", "b2.txt"}));
  EXPECT_EQ(names("[!ab]?.txt"), (V{"c3.txt"}));
  EXPECT_EQ(names("[a-b][0-9].txt"), (V{"a1.txt", "b2.txt"}));
  EXPECT_EQ(names("?.md"), (V{"x.md"}));
  EXPECT_EQ(names("\\[lit\\].txt"), (V{"[lit].txt"}));
  EXPECT_EQ(names("*"), (V{"[lit].txt", "a1.txt", "b2.txt", "c3.txt", "x.md"}));  // not .env
  EXPECT_EQ(names(".*"), (V{".env"}));
  // Patterns that make backtracking matchers exponential return at once.
  std::string deep = "d";
  for (int i = 0; i < 30; ++i) deep += "/d";
  spit(ws_ / deep / std::string(60, 'a'), "");
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(names("**/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"), V{});
  EXPECT_EQ(names("**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/nomatch"), V{});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ToolsTest, GrepModes) {
  spit(ws_ / "a.cc", "int main() {\n  return Foo();\n}\n");
  spit(ws_ / "lib" / "b.h", "int Foo();\nint foo_bar;\n");
  spit(ws_ / "lib" / "notes.md", "foo is documented\n");
  spit(ws_ / ".git" / "HEAD", "Foo in git\n");
  spit(ws_ / "blob.bin", std::string("Foo\0\0", 5));
  auto now = std::filesystem::file_time_type::clock::now();
  std::filesystem::last_write_time(ws_ / "a.cc", now - std::chrono::hours(2));
  std::filesystem::last_write_time(ws_ / "lib" / "b.h", now - std::chrono::hours(1));

  auto r = grepTool(*sb_, R"({"pattern":"Foo"})");
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(r.content, "Found 2 files\n/workspace/lib/b.h\n/workspace/a.cc\n");
  r = grepTool(*sb_, R"({"pattern":"foo","-i":true,"output_mode":"count"})");
  EXPECT_NE(r.content.find("/workspace/lib/b.h:2\n"), std::string::npos) << r.content;
  EXPECT_NE(r.content.find("/workspace/a.cc:1\n"), std::string::npos) << r.content;
  EXPECT_NE(r.content.find("/workspace/lib/notes.md:1\n"), std::string::npos) << r.content;
  r = grepTool(*sb_, R"j({"pattern":"Foo\\(\\)","output_mode":"content","glob":"*.cc"})j");
  EXPECT_EQ(r.content, "/workspace/a.cc:2:  return Foo();\n");
  r = grepTool(*sb_, R"({"pattern":"return","output_mode":"content","-C":1,"path":"a.cc"})");
  EXPECT_EQ(r.content,
            "/workspace/a.cc-1-int main() {\n/workspace/a.cc:2:  return Foo();\n"
            "/workspace/a.cc-3-}\n");
  r = grepTool(*sb_, R"({"pattern":"^int","output_mode":"content","-n":false,"type":"cpp"})");
  EXPECT_NE(r.content.find("/workspace/lib/b.h:int Foo();\n"), std::string::npos) << r.content;
  r = grepTool(*sb_, R"({"pattern":"int","output_mode":"content","head_limit":1})");
  EXPECT_NE(r.content.find("head_limit"), std::string::npos) << r.content;
  r = grepTool(*sb_, R"({"pattern":"main\\(\\) \\{\\n  return","multiline":true})");
  EXPECT_EQ(r.content, "Found 1 file\n/workspace/a.cc\n");
  r = grepTool(*sb_, R"({"pattern":"nothing-matches-this"})");
  EXPECT_EQ(r.content, "No matches found");
  // RE2 is linear time: a classic catastrophic-backtracking pattern returns at once.
  spit(ws_ / "redos.txt", std::string(5000, 'a') + "!\n");
  r = grepTool(*sb_, R"({"pattern":"(a+)+$","path":"redos.txt"})");
  EXPECT_FALSE(r.is_error);
}

TEST_F(ToolsTest, MountsAreRootsForTheFileTools) {
  auto rw = root_ / "mem";
  auto ro = root_ / "ro";
  std::filesystem::create_directories(rw);
  std::filesystem::create_directories(ro);
  spit(ro / "fixed.txt", "constant\n");
  SandboxOptions opts;
  opts.mounts = {{rw, "/mnt/memory", false}, {ro, "/mnt/ro", true}};
  auto sb = make(std::move(opts));
  ASSERT_NE(sb, nullptr);
  auto w = writeTool(*sb, R"({"file_path":"/mnt/memory/topic/fact.md","content":"remember"})");
  EXPECT_FALSE(w.is_error) << w.content;
  EXPECT_EQ(slurp(rw / "topic" / "fact.md"), "remember");
  auto r = readTool(*sb, R"({"file_path":"/mnt/ro/fixed.txt"})");
  EXPECT_EQ(r.content, "     1\tconstant\n");
  EXPECT_TRUE(writeTool(*sb, R"({"file_path":"/mnt/ro/x","content":"x"})").is_error);
  EXPECT_TRUE(
      editTool(
          *sb,
          R"({"file_path":"/mnt/ro/fixed.txt","old_string":"constant","new_string":"changed"})")
          .is_error);
  EXPECT_TRUE(readTool(*sb, R"({"file_path":"/mnt/memory/../ro/../../etc/passwd"})").is_error);
  auto g = globTool(*sb, R"({"pattern":"**/*.md","path":"/mnt/memory"})");
  EXPECT_EQ(g.content, "/mnt/memory/topic/fact.md\n");
}

TEST_F(ToolsTest, DefinitionsAreValidJsonSchemasForEveryTool) {
  const auto& defs = sandboxToolDefinitions();
  ASSERT_EQ(defs.size(), 6u);
  for (const auto& d : defs) {
    EXPECT_TRUE(isSandboxTool(d.name)) << d.name;
    EXPECT_FALSE(d.description.empty());
    boost::system::error_code ec;
    auto schema = boost::json::parse(d.input_schema, ec);
    ASSERT_FALSE(ec) << d.name << ": " << d.input_schema;
    ASSERT_TRUE(schema.is_object());
    EXPECT_EQ(schema.as_object().at("type"), "object");
    // Every required field is a declared property.
    if (const auto* req = schema.as_object().if_contains("required")) {
      for (const auto& r : req->as_array()) {
        EXPECT_TRUE(schema.as_object().at("properties").as_object().contains(r.as_string()))
            << d.name << " " << r.as_string();
      }
    }
  }
}

TEST_F(ToolsTest, RemoveDeletesTheSessionDirectoryWithoutFollowingLinks) {
  spit(root_ / "keep" / "precious.txt", "keep\n");
  std::filesystem::create_symlink(root_ / "keep", ws_ / "link");
  spit(ws_ / "f.txt", "x");
  auto session = ws_.parent_path().filename().string();
  sb_.reset();
  ASSERT_TRUE(Sandbox::remove(root_, session).has_value());
  EXPECT_FALSE(std::filesystem::exists(root_ / session));
  EXPECT_EQ(slurp(root_ / "keep" / "precious.txt"), "keep\n");
  EXPECT_FALSE(Sandbox::remove(root_, "../x").has_value());
}

}  // namespace
}  // namespace basalt::sandbox
