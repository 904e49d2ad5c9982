// The allow-list: what an entry may be and which request hosts it lets out.
#include "basalt/egress/allow_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace basalt::egress {
namespace {

AllowList make(std::vector<std::string> entries) {
  auto list = AllowList::parse(entries);
  EXPECT_TRUE(list.has_value()) << (list ? "" : list.error().message);
  return list ? *list : AllowList{};
}

TEST(AllowList, ExactHostnamesMatchCaseInsensitively) {
  AllowList list = make({"Example.COM", "api.github.com."});
  EXPECT_TRUE(list.allows("example.com"));
  EXPECT_TRUE(list.allows("EXAMPLE.com."));
  EXPECT_TRUE(list.allows("api.github.com"));
  EXPECT_FALSE(list.allows("www.example.com"));
  EXPECT_FALSE(list.allows("github.com"));
  EXPECT_FALSE(list.allows("example.com.evil.net"));
  EXPECT_FALSE(list.allows(""));
}

TEST(AllowList, WildcardMatchesSubdomainsButNotTheDomainItself) {
  AllowList list = make({"*.example.com"});
  EXPECT_TRUE(list.allows("www.example.com"));
  EXPECT_TRUE(list.allows("a.b.example.com"));
  EXPECT_FALSE(list.allows("example.com"));
  EXPECT_FALSE(list.allows("badexample.com"));
  EXPECT_FALSE(list.allows("www.example.com.evil.net"));
}

TEST(AllowList, Ipv4AddressesMatchOnlyInCanonicalForm) {
  AllowList list = make({"127.0.0.1", "*.example.com"});
  EXPECT_TRUE(list.allows("127.0.0.1"));
  // Forms inet_aton/getaddrinfo read as 127.0.0.1 are refused outright.
  for (const char* trick : {"127.1", "0x7f.0.0.1", "2130706433", "017700000001", "127.000.000.001",
                            "0x7f000001", "127.0.0.01"}) {
    EXPECT_FALSE(list.allows(trick)) << trick;
  }
  EXPECT_FALSE(list.allows("127.0.0.2"));
  EXPECT_FALSE(list.allows("1.2.3.4"));
  EXPECT_FALSE(list.allows("[::1]"));
  EXPECT_FALSE(list.allows("::1"));
  EXPECT_FALSE(list.allows("localhost"));
}

TEST(AllowList, HostsWithOddCharactersNeverMatch) {
  AllowList list = make({"*.example.com"});
  EXPECT_FALSE(list.allows("a b.example.com"));
  EXPECT_FALSE(list.allows("a\r\n.example.com"));
  EXPECT_FALSE(list.allows("user@www.example.com"));
  EXPECT_FALSE(list.allows("www.example.com:443"));
  EXPECT_FALSE(list.allows("-bad.example.com"));
  EXPECT_FALSE(list.allows(std::string("a\0b.example.com", 15)));
}

TEST(AllowList, BadEntriesAreRejectedWithTheReason) {
  for (const char* bad : {"", "*", "*.", "http://example.com", "example.com:443", "example.com/x",
                          "a*.example.com", "*.*.example.com", "*.10.0.0.1", "10.1", "0x7f.0.0.1",
                          "[::1]", "::1", "exa mple.com", "-x.com", "1.2.3.4.5", "user@x.com"}) {
    std::vector<std::string> entries = {bad};
    auto r = AllowList::parse(entries);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_NE(r.error().message.find("allowed_hosts"), std::string::npos) << r.error().message;
    }
    EXPECT_FALSE(checkAllowEntry(bad).empty()) << bad;
  }
  EXPECT_TRUE(checkAllowEntry("localhost").empty());
  EXPECT_TRUE(checkAllowEntry("*.pythonhosted.org").empty());
  EXPECT_TRUE(checkAllowEntry("10.0.0.1").empty());
  EXPECT_TRUE(checkAllowEntry("my_host.internal").empty());
}

TEST(AllowList, AtMostTheMaximumNumberOfEntries) {
  std::vector<std::string> many;
  for (std::size_t i = 0; i < kMaxAllowListEntries; ++i)
    many.push_back("h" + std::to_string(i) + ".io");
  EXPECT_TRUE(AllowList::parse(many).has_value());
  many.push_back("one-more.io");
  EXPECT_FALSE(AllowList::parse(many).has_value());
}

TEST(AllowList, EmptyListAllowsNothingAndDuplicatesMerge) {
  EXPECT_FALSE(AllowList{}.allows("example.com"));
  AllowList list = make({"a.io", "A.io", "*.b.io", "*.B.io"});
  EXPECT_EQ(list.entries(), (std::vector<std::string>{"a.io", "*.b.io"}));
}

TEST(AllowList, PackageRegistriesAreValidEntries) {
  for (std::string_view host : kPackageRegistryHosts) {
    EXPECT_TRUE(checkAllowEntry(host).empty()) << host;
  }
}

}  // namespace
}  // namespace basalt::egress
