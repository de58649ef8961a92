#pragma once
// Small file helpers shared by the process and Postgres plumbing.
#include <cstddef>
#include <string>

namespace protomesh::files {

// The whole file, or "" when it cannot be read.
std::string ReadFile(const std::string& path);
// $TMPDIR, or /tmp.
std::string TempDir();
// The last `max_chars` characters of `text`, marked with "..." when cut.
std::string Tail(const std::string& text, size_t max_chars = 4000);

}  // namespace protomesh::files
