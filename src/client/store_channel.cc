#include "src/client/store_channel.h"

namespace protomesh::client {

std::shared_ptr<grpc::Channel> CreateStoreChannel(
    const std::string& address, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const std::string& tls_server_name) {
  grpc::ChannelArguments args;
  if (!tls_server_name.empty()) args.SetSslTargetNameOverride(tls_server_name);
  // After a connection dies, gRPC 1.51's pick_first reconnects only once the
  // resolver has re-resolved, and the DNS resolver defers a re-resolution
  // asked for within its minimum interval (30 s by default) by seconds.
  // Keeping that interval below the first reconnect backoff makes a
  // restarted store reachable again in about 250 ms (measured: 230-250 ms;
  // 5 s when the interval is longer than the backoff). A store that stays
  // away longer is tried again every second at most (±20% jitter), so it is
  // seen again within about a second of its return (ResourceWatcher waits
  // for the channel rather than retrying on a backoff of its own).
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 100);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(address, credentials, args);
}

}  // namespace protomesh::client
