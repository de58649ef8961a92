#pragma once
// protomeshctl's command line: global settings, subcommands, exit codes.
#include <iosfwd>
#include <map>
#include <string>

namespace protomesh::ctl {

// Runs one invocation; returns its exit code (errors.h). `environment`
// holds the process environment (PROTOMESH_SERVER, ...).
int RunCli(int argc, const char* const* argv, const std::map<std::string, std::string>& environment,
           std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace protomesh::ctl
