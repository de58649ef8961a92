#include "src/common/namespace_rule.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace protomesh {
namespace {

TEST(NamespaceRuleTest, DnsLabelsAreValidNamespaces) {
  for (const std::string& ns : std::vector<std::string>{"a", "default", "team-1", "0", "9lives", std::string(63, 'x')}) {
    EXPECT_TRUE(IsValidNamespace(ns)) << ns;
  }
}

TEST(NamespaceRuleTest, AnythingElseIsNot) {
  for (const std::string& ns :
       std::vector<std::string>{"", "-a", "a-", "Default", "a_b", "a.b", "a b", "ü", std::string(64, 'x')}) {
    EXPECT_FALSE(IsValidNamespace(ns)) << ns;
  }
}

}  // namespace
}  // namespace protomesh
