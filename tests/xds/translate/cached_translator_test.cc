// CachedTranslator against xds::Translate: after every change of a random
// walk over a mesh of three node clusters (shared service names, instance
// sets naming services of several node clusters, raw resources scoped and
// unscoped, resources turning invalid and valid again, moves between node
// clusters, deletions), both give the same snapshots and the same errors;
// and a change to one node cluster's resources translates that node cluster
// alone.
#include "src/xds/translate/cached_translator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/types/v1/envoy.pb.h"
#include "api/types/v1/networking.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "src/xds/translate/translator.h"

namespace protomesh::xds {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using types::v1::NetworkingNode;
using types::v1::Resource;

const std::vector<std::string> kNodeClusters = {"nc0", "nc1", "nc2"};

// The mesh, by resource id; each put bumps the resource's version.
class Mesh {
 public:
  void Put(const std::string& id, const std::string& name, const google::protobuf::Message& spec) {
    Resource& resource = resources_[id];
    resource.set_namespace_("mesh");
    resource.set_id(id);
    resource.set_name(name);
    resource.mutable_spec()->PackFrom(spec);
    resource.mutable_version()->set_index(++revision_);
  }
  void Drop(const std::string& id) { resources_.erase(id); }
  bool Has(const std::string& id) const { return resources_.count(id) > 0; }

  ResourceRefs Refs() const {
    ResourceRefs refs;
    for (const auto& [id, resource] : resources_) refs.push_back(&resource);
    // Listed in another order than by id: the translation must not care.
    std::reverse(refs.begin(), refs.end());
    return refs;
  }
  int64_t revision() const { return revision_; }

 private:
  std::map<std::string, Resource> resources_;
  int64_t revision_ = 0;
};

NetworkingNode Service(const std::string& service_name, const std::string& node_cluster,
                       const std::string& grpc_target = "", bool broken = false) {
  NetworkingNode node;
  auto* service = node.mutable_service();
  service->set_service_name(service_name);
  service->set_xds_cluster_name(node_cluster);
  service->set_grpc_target_name(grpc_target);
  if (broken) service->mutable_outlier_detection()->set_max_ejection_percent(150);
  return node;
}

NetworkingNode Instances(const std::vector<std::string>& service_names, int port, int count) {
  NetworkingNode node;
  auto* set = node.mutable_instance_set();
  for (const auto& name : service_names) set->add_match_service_names(name);
  for (int i = 0; i < count; ++i) {
    auto* instance = set->add_instances();
    instance->set_address(absl::StrCat("10.0.", port % 250, ".", i + 1));
    instance->set_port(port);  // 0 makes the set invalid
    instance->set_zone(absl::StrCat("z", i % 2));
  }
  return node;
}

NetworkingNode Ingress(const std::string& node_cluster, int port) {
  NetworkingNode node;
  auto* ingress = node.mutable_http_ingress();
  ingress->set_xds_cluster_name(node_cluster);
  ingress->set_ingress_name("ingress");
  ingress->set_listen_port(port);
  return node;
}

NetworkingNode Routes(const std::string& node_cluster, const std::vector<std::string>& targets) {
  NetworkingNode node;
  auto* policy = node.mutable_routing_policy();
  policy->set_ingress_name("ingress");
  policy->set_xds_cluster_name(node_cluster);
  for (size_t i = 0; i < targets.size(); ++i) {
    auto* route = policy->add_routes();
    route->set_match_prefix(absl::StrCat("/", i, "/"));
    route->set_target_service(targets[i]);
  }
  return node;
}

// A raw Envoy EDS cluster named `name`, for `node_cluster` (every node
// cluster when empty).
types::v1::EnvoyResource RawEdsCluster(const std::string& name, const std::string& node_cluster) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name(name);
  cluster.set_type(envoy::config::cluster::v3::Cluster::EDS);
  cluster.mutable_eds_cluster_config()->mutable_eds_config()->mutable_ads();
  cluster.mutable_connect_timeout()->set_seconds(1);
  types::v1::EnvoyResource raw;
  raw.set_xds_cluster_name(node_cluster);
  raw.mutable_resource()->PackFrom(cluster);
  return raw;
}

// What a translation serves and reports, in a form that compares.
using Served = std::map<std::string, std::map<std::string, std::string>>;  // cluster -> key -> version
Served ServedOf(const Translation& translation) {
  Served served;
  for (const auto& [node_cluster, snapshot] : translation.snapshots) {
    auto& out = served[node_cluster];
    for (const auto& [type, resources] : snapshot->resources) {
      for (const auto& [name, resource] : resources) out[absl::StrCat(type, " ", name)] = resource->version;
    }
    for (const auto& [type, version] : snapshot->type_versions) out[type] = version;
  }
  return served;
}
std::vector<std::tuple<std::string, std::string>> ErrorsOf(const Translation& translation) {
  std::vector<std::tuple<std::string, std::string>> errors;
  for (const auto& error : translation.errors) errors.emplace_back(error.id, error.message);
  std::sort(errors.begin(), errors.end());
  return errors;
}

void Populate(Mesh& mesh) {
  for (size_t c = 0; c < kNodeClusters.size(); ++c) {
    const std::string& nc = kNodeClusters[c];
    for (int s = 0; s < 4; ++s) {
      mesh.Put(absl::StrCat("svc-", c, "-", s), absl::StrCat(nc, "-svc", s),
               Service(absl::StrCat("svc", s), nc, s == 0 ? absl::StrCat("grpc-", c) : ""));
    }
    mesh.Put(absl::StrCat("ingress-", c), absl::StrCat(nc, "-ingress"), Ingress(nc, 8000 + c));
    mesh.Put(absl::StrCat("routes-", c), absl::StrCat(nc, "-routes"), Routes(nc, {"svc1", "svc2"}));
  }
  for (int s = 0; s < 4; ++s) {
    mesh.Put(absl::StrCat("set-", s), absl::StrCat("set", s), Instances({absl::StrCat("svc", s)}, 9000 + s, 2));
  }
  mesh.Put("set-shared", "set-shared", Instances({"svc0", "raw-eds"}, 9100, 3));
  mesh.Put("set-nc1-only", "set-nc1-only", Instances({"only-in-nc1"}, 9200, 1));
  mesh.Put("svc-only-in-nc1", "nc1-only", Service("only-in-nc1", "nc1"));
  mesh.Put("raw-everywhere", "raw-everywhere", RawEdsCluster("raw-eds", ""));
  mesh.Put("raw-nc2", "raw-nc2", RawEdsCluster("raw-nc2", "nc2"));
}

TEST(CachedTranslatorTest, GivesWhatAFullTranslationGivesAfterEveryChange) {
  Mesh mesh;
  Populate(mesh);
  CachedTranslator cached;
  std::mt19937 random(20261123);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  int translated_alone = 0;
  int with_errors = 0;
  for (int step = 0; step < 400; ++step) {
    std::string what;
    const int c = pick(3);
    const std::string& nc = kNodeClusters[static_cast<size_t>(c)];
    switch (pick(11)) {
      case 0:  // new endpoints for a service name
        what = "instances";
        mesh.Put(absl::StrCat("set-", pick(4)), "set", Instances({absl::StrCat("svc", pick(5))}, 9000 + pick(50), 1 + pick(3)));
        break;
      case 1:  // an instance set turns invalid (port 0) or valid
        what = "invalid instances";
        mesh.Put("set-shared", "set-shared", Instances({"svc0", "raw-eds"}, pick(2) == 0 ? 0 : 9100, 3));
        break;
      case 2:  // a service breaks, or is fixed
        what = "broken service";
        mesh.Put(absl::StrCat("svc-", c, "-", pick(4)), absl::StrCat(nc, "-svc"), Service(absl::StrCat("svc", pick(4)), nc, "", pick(2) == 0));
        break;
      case 3:  // a service moves to another node cluster
        what = "moved service";
        mesh.Put(absl::StrCat("svc-", c, "-", pick(4)), "moved", Service(absl::StrCat("svc", pick(4)), kNodeClusters[static_cast<size_t>(pick(3))]));
        break;
      case 4:  // a resource goes, or comes back
        what = "drop";
        if (mesh.Has(absl::StrCat("routes-", c))) {
          mesh.Drop(absl::StrCat("routes-", c));
        } else {
          mesh.Put(absl::StrCat("routes-", c), absl::StrCat(nc, "-routes"), Routes(nc, {"svc1", "svc3"}));
        }
        break;
      case 5:  // routes to services that may not exist
        what = "routes";
        mesh.Put(absl::StrCat("routes-", c), absl::StrCat(nc, "-routes"), Routes(nc, {absl::StrCat("svc", pick(6)), "only-in-nc1"}));
        break;
      case 6:  // two ingresses on one port clash
        what = "ingress port";
        mesh.Put(absl::StrCat("ingress-", c), absl::StrCat(nc, "-ingress"), Ingress(nc, 8000 + pick(3)));
        mesh.Put("ingress-extra", "ingress-extra", Ingress(kNodeClusters[static_cast<size_t>(pick(3))], 8000 + pick(3)));
        break;
      case 7:  // a raw resource scoped, unscoped, or clashing with a service's cluster
        what = "raw";
        mesh.Put("raw-everywhere", "raw-everywhere", RawEdsCluster(pick(2) == 0 ? "raw-eds" : "svc2", pick(2) == 0 ? "" : nc));
        break;
      case 8:  // a set that names several services
        what = "shared set";
        mesh.Put("set-shared", "set-shared", Instances({absl::StrCat("svc", pick(4)), pick(2) == 0 ? "raw-eds" : "raw-nc2"}, 9100 + pick(9), 1 + pick(3)));
        break;
      case 9:  // a service only nc1 has
        what = "nc1 only";
        mesh.Put("set-nc1-only", "set-nc1-only", Instances({"only-in-nc1"}, 9200 + pick(40), 1 + pick(2)));
        break;
      case 10:  // a new name, the same spec (virtual hosts are named after it)
        what = "rename";
        mesh.Put(absl::StrCat("routes-", c), absl::StrCat(nc, "-routes-", pick(3)), Routes(nc, {"svc1", "svc2"}));
        break;
    }
    const Translation full = Translate(mesh.Refs(), mesh.revision());
    const Translation incremental = cached.Translate(mesh.Refs(), mesh.revision());
    ASSERT_EQ(ServedOf(incremental), ServedOf(full)) << "step " << step << ": " << what;
    ASSERT_EQ(ErrorsOf(incremental), ErrorsOf(full)) << "step " << step << ": " << what;
    if (cached.last_translated().size() == 1) ++translated_alone;
    if (!full.errors.empty()) ++with_errors;
  }
  // The walk did reach node clusters one at a time, and made errors.
  EXPECT_GT(translated_alone, 50);
  EXPECT_GT(with_errors, 50);
}

TEST(CachedTranslatorTest, TranslatesOnlyTheNodeClustersAChangeReaches) {
  Mesh mesh;
  Populate(mesh);
  CachedTranslator cached;
  cached.Translate(mesh.Refs(), mesh.revision());
  EXPECT_EQ(cached.last_translated().size(), 3u);

  // Nothing changed: nothing is translated.
  cached.Translate(mesh.Refs(), mesh.revision());
  EXPECT_THAT(cached.last_translated(), IsEmpty());

  // A service of nc1, then endpoints of a service only nc1 has.
  mesh.Put("svc-1-2", "nc1-svc2", Service("svc2", "nc1", "", true));
  cached.Translate(mesh.Refs(), mesh.revision());
  EXPECT_THAT(cached.last_translated(), ElementsAre("nc1"));
  mesh.Put("set-nc1-only", "set-nc1-only", Instances({"only-in-nc1"}, 9300, 2));
  cached.Translate(mesh.Refs(), mesh.revision());
  EXPECT_THAT(cached.last_translated(), ElementsAre("nc1"));

  // Endpoints of a raw EDS cluster only nc2 has.
  mesh.Put("set-raw", "set-raw", Instances({"raw-nc2"}, 9400, 1));
  cached.Translate(mesh.Refs(), mesh.revision());
  EXPECT_THAT(cached.last_translated(), ElementsAre("nc2"));

  // Endpoints of a service every node cluster has, and an unscoped raw
  // resource: all of them.
  mesh.Put("set-1", "set1", Instances({"svc1"}, 9500, 2));
  cached.Translate(mesh.Refs(), mesh.revision());
  EXPECT_THAT(cached.last_translated(), ElementsAre("nc0", "nc1", "nc2"));
  mesh.Put("raw-everywhere", "raw-everywhere", RawEdsCluster("raw-eds-2", ""));
  cached.Translate(mesh.Refs(), mesh.revision());
  EXPECT_THAT(cached.last_translated(), ElementsAre("nc0", "nc1", "nc2"));
}

TEST(CachedTranslatorTest, AnIdListedTwiceWithOtherContentIsTranslatedAsAFullTranslationDoes) {
  Mesh mesh;
  Populate(mesh);
  CachedTranslator cached;
  cached.Translate(mesh.Refs(), mesh.revision());
  // The same id twice, the second with other content: each is parsed and
  // used as it is, also on the next call, which has it once again.
  Resource other = *mesh.Refs().front();
  NetworkingNode node;
  ASSERT_TRUE(other.spec().UnpackTo(&node));
  other.set_name(absl::StrCat(other.name(), "-again"));
  other.mutable_spec()->PackFrom(Service("svc-twice", "nc0"));
  ResourceRefs twice = mesh.Refs();
  twice.push_back(&other);
  EXPECT_EQ(ServedOf(cached.Translate(twice, 99)), ServedOf(Translate(twice, 99)));
  EXPECT_EQ(ErrorsOf(cached.Translate(twice, 99)), ErrorsOf(Translate(twice, 99)));
  EXPECT_EQ(ServedOf(cached.Translate(mesh.Refs(), 100)), ServedOf(Translate(mesh.Refs(), 100)));
}

}  // namespace
}  // namespace protomesh::xds
