#include "src/common/uuid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace protomesh::uuid {
namespace {

using ::testing::HasSubstr;

TEST(UuidTest, V5MatchesTheKnownVectorForTheDnsNamespace) {
  EXPECT_EQ(Format(V5(kDnsNamespace, "www.example.com")), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

TEST(UuidTest, ProtomeshNamespaceIsTheV5OfProtomeshIo) {
  EXPECT_EQ(Format(kProtomeshNamespace), "e41e1c9a-f32b-5aea-b34b-4052b4769ec9");
  EXPECT_EQ(V5(kDnsNamespace, "protomesh.io"), kProtomeshNamespace);
}

TEST(UuidTest, V5SetsVersionAndVariant) {
  Uuid id = V5(kProtomeshNamespace, "default/checkout");
  EXPECT_EQ(id[6] >> 4, 5);
  EXPECT_EQ(id[8] >> 6, 2);
  EXPECT_EQ(Format(id), "83840053-88f7-5a9f-8e68-24e1db07e43f");
}

TEST(UuidTest, RandomSetsVersionAndVariantAndDiffers) {
  Uuid a = Random();
  Uuid b = Random();
  EXPECT_EQ(a[6] >> 4, 4);
  EXPECT_EQ(a[8] >> 6, 2);
  EXPECT_NE(a, b);
  EXPECT_EQ(*Parse(Format(a)), a);
}

TEST(UuidTest, ParseAcceptsEitherCaseAndFormatsLowercase) {
  auto parsed = Parse("6BA7B810-9DAD-11D1-80B4-00C04FD430C8");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, kDnsNamespace);
  EXPECT_EQ(Format(*parsed), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
}

TEST(UuidTest, ParseRejectsWhatIsNotAUuid) {
  for (const char* text : {"", "6ba7b810-9dad-11d1-80b4-00c04fd430c", "6ba7b8109dad11d180b400c04fd430c8",
                           "6ba7b810-9dad-11d1-80b4-00c04fd430cg", "6ba7b810-9dad-11d180b4-00c04fd430c8-",
                           "6ba7b81-09dad-11d1-80b4-00c04fd430c8"}) {
    auto parsed = Parse(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("is not a UUID")) << text;
  }
}

}  // namespace
}  // namespace protomesh::uuid
