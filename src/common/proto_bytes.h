#pragma once
#include <string>

#include "google/protobuf/message.h"

namespace protomesh {

// The message's bytes with map entries in key order, so that equal content
// always gives equal bytes (content hashes, canonical specs).
std::string SerializeDeterministic(const google::protobuf::Message& message);

}  // namespace protomesh
