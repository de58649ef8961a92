#include "bench/systems.h"

#include "absl/strings/str_format.h"

namespace protomesh::bench {

std::string KeyId(int64_t key) {
  return absl::StrFormat("00000000-0000-4000-8000-%012x", static_cast<uint64_t>(key));
}

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const std::string& address, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // A distinct argument keeps channels from sharing one subchannel (and
    // so one TCP connection).
    args.SetInt("protomesh.bench.channel", i);
    args.SetMaxReceiveMessageSize(64 << 20);
    channels.push_back(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

}  // namespace protomesh::bench
