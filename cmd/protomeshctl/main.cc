// protomeshctl: the command line for Protomesh resources (src/ctl).
#include <iostream>

#include "src/common/config.h"
#include "src/ctl/cli.h"

int main(int argc, char** argv) {
  return protomesh::ctl::RunCli(argc, argv, protomesh::config::Flags::ProcessEnvironment(),
                                std::cin, std::cout, std::cerr);
}
