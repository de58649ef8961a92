#include "src/xds/envoy_descriptors.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "src/xds/envoy_api/descriptor_set.h"

namespace protomesh::xds {

const google::protobuf::DescriptorPool& EnvoyDescriptorPool() {
  static const google::protobuf::DescriptorPool* pool = [] {
    google::protobuf::FileDescriptorSet set;
    const std::string_view bytes = EnvoyApiDescriptorSet();
    set.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
    auto* built = new google::protobuf::DescriptorPool();
    // Files come in dependency order (protoc --include_imports).
    for (const auto& file : set.file()) built->BuildFile(file);
    return built;
  }();
  return *pool;
}

absl::StatusOr<google::protobuf::Any> AnyFromJson(const std::string& full_name,
                                                  const std::string& json) {
  const google::protobuf::Descriptor* descriptor =
      EnvoyDescriptorPool().FindMessageTypeByName(full_name);
  if (descriptor == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown Envoy type ", full_name));
  }
  static google::protobuf::DynamicMessageFactory* factory =
      new google::protobuf::DynamicMessageFactory(&EnvoyDescriptorPool());
  std::unique_ptr<google::protobuf::Message> message(factory->GetPrototype(descriptor)->New());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, message.get(), options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", full_name, ": ", std::string(status.message())));
  }
  google::protobuf::Any any;
  any.set_type_url(absl::StrCat("type.googleapis.com/", full_name));
  any.set_value(message->SerializeAsString());
  return any;
}

}  // namespace protomesh::xds
