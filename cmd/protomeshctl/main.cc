// protomeshctl: the command line for Protomesh resources (src/ctl).
#include <grpc/support/log.h>

#include <cstdlib>
#include <iostream>

#include "src/common/config.h"
#include "src/ctl/cli.h"

namespace {

// gRPC's own log lines ("E1123 ... Handshake failed ...") would come before
// protomeshctl's error, which already says what failed and where. They are
// shown only when asked for with gRPC's own GRPC_VERBOSITY or GRPC_TRACE.
void DropGrpcLog(gpr_log_func_args*) {}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("GRPC_VERBOSITY") == nullptr && std::getenv("GRPC_TRACE") == nullptr) {
    gpr_set_log_function(DropGrpcLog);
  }
  return protomesh::ctl::RunCli(argc, argv, protomesh::config::Flags::ProcessEnvironment(),
                                std::cin, std::cout, std::cerr);
}
