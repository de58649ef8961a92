// LastGoodTranslator: a broken update keeps its last good version served
// and reported; a resource that never translated is left out and reported.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/types/v1/networking.pb.h"
#include "google/protobuf/util/json_util.h"
#include "src/xds/last_good_translator.h"
#include "src/xds/translate/translator.h"

namespace protomesh::xds {
namespace {

using ::testing::HasSubstr;
using protomesh::types::v1::Resource;

constexpr char kGoodService[] = R"({"service_name": "web", "xds_cluster_name": "edge",
                                    "outlier_detection": {"max_ejection_percent": 50}})";
constexpr char kBrokenService[] = R"({"service_name": "web", "xds_cluster_name": "edge",
                                      "outlier_detection": {"max_ejection_percent": 150}})";
// Good too, of other content than kGoodService.
constexpr char kOtherGoodService[] = R"({"service_name": "web", "xds_cluster_name": "edge",
                                         "outlier_detection": {"max_ejection_percent": 70}})";

Resource Service(const std::string& name, const std::string& json, int64_t revision) {
  protomesh::types::v1::NetworkingNode node;
  auto status =
      google::protobuf::util::JsonStringToMessage(absl::StrCat(R"({"service": )", json, "}"), &node);
  EXPECT_TRUE(status.ok()) << status;
  Resource resource;
  resource.set_namespace_("shop");
  resource.set_id(absl::StrCat("00000000-0000-0000-0000-", std::string(12 - name.size(), '0'), name));
  resource.set_name(name);
  resource.mutable_spec()->PackFrom(node);
  resource.mutable_version()->set_index(revision);
  return resource;
}

// The version of cluster `name` in node cluster edge, or "" when absent.
std::string ClusterVersion(const Translation& translation, const std::string& name) {
  auto node = translation.snapshots.find("edge");
  if (node == translation.snapshots.end()) return "";
  const auto& clusters = node->second->resources.at(kClusterType);
  auto cluster = clusters.find(name);
  return cluster == clusters.end() ? "" : cluster->second->version;
}

// The cluster version a resource gets when translated alone.
std::string AloneVersion(const Resource& resource, const std::string& cluster) {
  return ClusterVersion(Translate({resource}, resource.version().index()), cluster);
}

TEST(LastGoodTranslatorTest, ABrokenUpdateKeepsTheLastGoodVersionServed) {
  LastGoodTranslator translator;
  const Resource good = Service("web", kGoodService, 2);
  CheckedTranslation first = translator.Translate({good}, 2);
  EXPECT_TRUE(first.issues.empty());
  ASSERT_NE(ClusterVersion(first.translation, "web"), "");

  const Resource broken = Service("web", kBrokenService, 3);
  CheckedTranslation second = translator.Translate({broken}, 3);
  EXPECT_EQ(ClusterVersion(second.translation, "web"), AloneVersion(good, "web"));
  ASSERT_EQ(second.issues.size(), 1u);
  const ResourceIssue& issue = second.issues[0];
  EXPECT_EQ(issue.name, "web");
  EXPECT_EQ(issue.id, broken.id());
  EXPECT_EQ(issue.namespace_, "shop");
  EXPECT_EQ(issue.kind, "Service");
  EXPECT_EQ(issue.type_url, "type.googleapis.com/protomesh.types.v1.NetworkingNode");
  EXPECT_EQ(issue.revision, 3);
  EXPECT_EQ(issue.serving_revision, 2);
  EXPECT_THAT(issue.message, HasSubstr("max_ejection_percent is above 100"));
  EXPECT_TRUE(second.translation.errors.empty());

  // Still broken at a later revision (another resource changed): still the
  // last good version.
  CheckedTranslation third =
      translator.Translate({broken, Service("other", R"({"service_name": "other",
                                                        "xds_cluster_name": "edge"})", 4)},
                           4);
  EXPECT_EQ(ClusterVersion(third.translation, "web"), AloneVersion(good, "web"));
  ASSERT_EQ(third.issues.size(), 1u);
  EXPECT_EQ(third.issues[0].serving_revision, 2);
}

TEST(LastGoodTranslatorTest, TheLastGoodVersionIsTheLatestThatTranslated) {
  LastGoodTranslator translator;
  translator.Translate({Service("web", kGoodService, 2)}, 2);
  // The same version again, then one of other content at the same
  // revision number (as a caller other than the store could send): the
  // content is what counts.
  translator.Translate({Service("web", kGoodService, 2)}, 3);
  const Resource other = Service("web", kOtherGoodService, 2);
  translator.Translate({other}, 4);
  CheckedTranslation result = translator.Translate({Service("web", kBrokenService, 5)}, 5);
  EXPECT_EQ(ClusterVersion(result.translation, "web"), AloneVersion(other, "web"));
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].serving_revision, 2);
}

TEST(LastGoodTranslatorTest, AFixedVersionReplacesTheLastGoodOne) {
  LastGoodTranslator translator;
  translator.Translate({Service("web", kGoodService, 2)}, 2);
  translator.Translate({Service("web", kBrokenService, 3)}, 3);
  const Resource fixed = Service("web", kOtherGoodService, 4);
  CheckedTranslation result = translator.Translate({fixed}, 4);
  EXPECT_TRUE(result.issues.empty());
  EXPECT_EQ(ClusterVersion(result.translation, "web"), AloneVersion(fixed, "web"));
  EXPECT_NE(AloneVersion(fixed, "web"), AloneVersion(Service("web", kGoodService, 2), "web"));
}

TEST(LastGoodTranslatorTest, AResourceThatNeverTranslatedIsLeftOutAndReported) {
  LastGoodTranslator translator;
  CheckedTranslation result = translator.Translate({Service("web", kBrokenService, 5)}, 5);
  EXPECT_EQ(ClusterVersion(result.translation, "web"), "");
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].revision, 5);
  EXPECT_EQ(result.issues[0].serving_revision, 0);
}

TEST(LastGoodTranslatorTest, DeletingAResourceForgetsItsLastGoodVersion) {
  LastGoodTranslator translator;
  translator.Translate({Service("web", kGoodService, 2)}, 2);
  translator.Translate(std::vector<Resource>{}, 3);
  CheckedTranslation result = translator.Translate({Service("web", kBrokenService, 4)}, 4);
  EXPECT_EQ(ClusterVersion(result.translation, "web"), "");
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].serving_revision, 0);
}

TEST(LastGoodTranslatorTest, ALastGoodVersionThatNoLongerFitsIsNotServed) {
  LastGoodTranslator translator;
  // "web-b" serves cluster x, then breaks: its last good version stays.
  translator.Translate({Service("web-b", R"({"service_name": "x", "xds_cluster_name": "edge"})", 1)},
                       1);
  const Resource broken = Service("web-b", R"({"service_name": "x", "xds_cluster_name": "edge",
                                               "outlier_detection": {"max_ejection_percent": 150}})",
                                  2);
  CheckedTranslation kept = translator.Translate({broken}, 2);
  ASSERT_EQ(kept.issues.size(), 1u);
  EXPECT_EQ(kept.issues[0].serving_revision, 1);

  // "web-a" now claims cluster x, and comes first: the old web-b would clash,
  // so it is not served, and web-a is.
  const Resource claimant = Service("web-a", R"({"service_name": "x", "xds_cluster_name": "edge"})", 3);
  CheckedTranslation result = translator.Translate({claimant, broken}, 3);
  EXPECT_EQ(ClusterVersion(result.translation, "x"), AloneVersion(claimant, "x"));
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].name, "web-b");
  EXPECT_EQ(result.issues[0].serving_revision, 0);
  EXPECT_THAT(result.issues[0].message, HasSubstr("max_ejection_percent is above 100"));
}

TEST(LastGoodTranslatorTest, KindsAreNamedAsProtomeshctlNamesThem) {
  EXPECT_EQ(KindOf(Service("web", kGoodService, 1)), "Service");
  Resource raw;
  raw.mutable_spec()->set_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster");
  EXPECT_EQ(KindOf(raw), "Cluster");
}

}  // namespace
}  // namespace protomesh::xds
