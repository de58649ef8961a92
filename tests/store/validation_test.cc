#include "src/store/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace protomesh::store {
namespace {

using ::testing::HasSubstr;

TEST(ValidateNamespace, AcceptsDnsLabels) {
  for (const char* ns : {"a", "default", "prod-eu-1", "0abc", "x9"}) {
    EXPECT_TRUE(ValidateNamespace(ns, "namespace").ok()) << ns;
  }
  EXPECT_TRUE(ValidateNamespace(std::string(63, 'a'), "namespace").ok());
}

TEST(ValidateNamespace, RejectsEverythingElseNamingTheField) {
  for (const char* ns : {"-a", "a-", "A", "a_b", "a.b", "a b", "ä"}) {
    auto status = ValidateNamespace(ns, "resource.namespace");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << ns;
    EXPECT_THAT(status.message(), HasSubstr("resource.namespace: must be a DNS label")) << ns;
  }
  EXPECT_THAT(ValidateNamespace(std::string(64, 'a'), "ns").message(), HasSubstr("at most 63"));
  EXPECT_EQ(ValidateNamespace("", "ns").message(), "ns: must not be empty");
}

TEST(NormalizeId, LowercasesUuids) {
  auto id = NormalizeId("123E4567-E89B-12D3-A456-426614174000", "id");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "123e4567-e89b-12d3-a456-426614174000");
}

TEST(NormalizeId, RejectsNonUuids) {
  for (const char* id : {"123e4567-e89b-12d3-a456-42661417400", "123e4567e89b12d3a456426614174000",
                         "123e4567-e89b-12d3-a456-42661417400g", "{123e4567-e89b-12d3-a456-426614174000}"}) {
    auto status = NormalizeId(id, "resource_id").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_THAT(status.message(), HasSubstr("resource_id: must be a UUID")) << id;
  }
}

TEST(ValidateResourceForWrite, ChecksTheTypeUrlAndSize) {
  protomesh::types::v1::Resource resource;
  resource.set_namespace_("ns");
  resource.set_id("123e4567-e89b-12d3-a456-426614174000");
  resource.set_name("n");
  resource.mutable_spec()->set_type_url("type.googleapis.com/x.Y");
  resource.mutable_spec()->set_value(std::string(10, 'x'));
  Limits limits;
  limits.max_spec_bytes = 10;
  EXPECT_TRUE(ValidateResourceForWrite(resource, limits, "resource").ok());
  resource.mutable_spec()->set_value(std::string(11, 'x'));
  EXPECT_THAT(ValidateResourceForWrite(resource, limits, "resource").message(),
              HasSubstr("resource.spec: 11 bytes is over the limit of 10 bytes"));
  resource.mutable_spec()->set_value("");
  resource.mutable_spec()->set_type_url(std::string(600, 'a') + "/T");
  EXPECT_THAT(ValidateResourceForWrite(resource, limits, "resource").message(),
              HasSubstr("resource.spec.type_url: must be at most 512 bytes"));
}

}  // namespace
}  // namespace protomesh::store
