#include "src/xds/last_good_translator.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_split.h"
#include "api/types/v1/networking.pb.h"
#include "src/common/proto_bytes.h"
#include "src/xds/translate/translator.h"

namespace protomesh::xds {
namespace {

using protomesh::types::v1::Resource;

std::map<std::string, std::vector<std::string>> MessagesById(const Translation& translation) {
  std::map<std::string, std::vector<std::string>> messages;
  for (const TranslationError& error : translation.errors) messages[error.id].push_back(error.message);
  return messages;
}

bool SameContent(const Resource& a, const Resource& b) {
  return a.name() == b.name() &&
         SerializeDeterministic(a.spec()) == SerializeDeterministic(b.spec());
}

// The same version of a resource, byte for byte (comparing is much cheaper
// than copying).
bool SameVersion(const Resource& a, const Resource& b) {
  return a.version().index() == b.version().index() && a.name() == b.name() &&
         a.spec().type_url() == b.spec().type_url() && a.spec().value() == b.spec().value();
}

ResourceIssue IssueOf(const Resource& resource, std::string message) {
  ResourceIssue issue;
  issue.namespace_ = resource.namespace_();
  issue.id = resource.id();
  issue.name = resource.name();
  issue.type_url = resource.spec().type_url();
  issue.kind = KindOf(resource);
  issue.revision = resource.version().index();
  issue.message = std::move(message);
  return issue;
}

}  // namespace

std::string KindOf(const Resource& resource) {
  protomesh::types::v1::NetworkingNode node;
  if (resource.spec().UnpackTo(&node)) {
    switch (node.networking_node_case()) {
      case protomesh::types::v1::NetworkingNode::kHttpIngress: return "HttpIngress";
      case protomesh::types::v1::NetworkingNode::kService: return "Service";
      case protomesh::types::v1::NetworkingNode::kRoutingPolicy: return "RoutingPolicy";
      case protomesh::types::v1::NetworkingNode::kInstanceSet: return "InstanceSet";
      default: break;
    }
  }
  std::vector<std::string> parts = absl::StrSplit(resource.spec().type_url(), '.');
  return parts.back();
}

CheckedTranslation LastGoodTranslator::Translate(const std::vector<Resource>& resources,
                                                 int64_t revision) {
  return Translate(RefsOf(resources), revision);
}

CheckedTranslation LastGoodTranslator::Translate(const ResourceRefs& resources, int64_t revision) {
  Translation first = translator_.Translate(resources, revision);
  const std::map<std::string, std::vector<std::string>> first_messages = MessagesById(first);

  // The failing resources that have a last good version of other content.
  std::map<std::string, const Resource*> substitutes;
  for (const Resource* resource_ref : resources) {
    const Resource& resource = *resource_ref;
    if (first_messages.count(resource.id()) == 0) continue;
    auto good = last_good_.find(resource.id());
    if (good != last_good_.end() && !SameContent(good->second, resource)) {
      substitutes.emplace(resource.id(), &good->second);
    }
  }

  // A last good version can fail too now (what it refers to changed): such
  // substitutes are dropped and the rest tried again. Each round drops at
  // least one, so this ends.
  Translation final_translation = std::move(first);
  std::map<std::string, std::vector<std::string>> final_messages = first_messages;
  while (!substitutes.empty()) {
    ResourceRefs input;
    input.reserve(resources.size());
    for (const Resource* resource : resources) {
      auto substitute = substitutes.find(resource->id());
      input.push_back(substitute == substitutes.end() ? resource : substitute->second);
    }
    Translation attempt = translator_.Translate(input, revision);
    std::map<std::string, std::vector<std::string>> attempt_messages = MessagesById(attempt);
    bool dropped = false;
    for (auto it = substitutes.begin(); it != substitutes.end();) {
      if (attempt_messages.count(it->first) > 0) {
        it = substitutes.erase(it);
        dropped = true;
      } else {
        ++it;
      }
    }
    if (!dropped) {
      final_translation = std::move(attempt);
      final_messages = std::move(attempt_messages);
      break;
    }
    if (substitutes.empty()) {
      final_translation = translator_.Translate(resources, revision);
      final_messages = MessagesById(final_translation);
    }
  }

  CheckedTranslation result;
  std::map<std::string, Resource> next_good;
  for (const Resource* resource_ref : resources) {
    const Resource& resource = *resource_ref;
    auto substitute = substitutes.find(resource.id());
    if (substitute != substitutes.end()) {
      const int64_t serving = substitute->second->version().index();
      next_good.emplace(resource.id(), *substitute->second);
      for (const std::string& message : first_messages.at(resource.id())) {
        ResourceIssue issue = IssueOf(resource, message);
        issue.serving_revision = serving;
        result.issues.push_back(std::move(issue));
      }
      continue;
    }
    auto messages = final_messages.find(resource.id());
    if (messages == final_messages.end()) {
      // Unchanged since it was last good: keep that copy rather than make one.
      auto good = last_good_.find(resource.id());
      if (good != last_good_.end() && SameVersion(good->second, resource)) {
        next_good.emplace(resource.id(), std::move(good->second));
      } else {
        next_good.emplace(resource.id(), resource);
      }
      continue;
    }
    for (const std::string& message : messages->second) {
      result.issues.push_back(IssueOf(resource, message));
    }
    // A resource that fails keeps the last good version it had, for the
    // next change to fall back on.
    auto good = last_good_.find(resource.id());
    if (good != last_good_.end()) next_good.emplace(resource.id(), std::move(good->second));
  }
  last_good_ = std::move(next_good);
  std::sort(result.issues.begin(), result.issues.end(),
            [](const ResourceIssue& a, const ResourceIssue& b) {
              return std::tie(a.name, a.id, a.message) < std::tie(b.name, b.id, b.message);
            });
  final_translation.errors.clear();  // `issues` says it all
  result.translation = std::move(final_translation);
  return result;
}

}  // namespace protomesh::xds
