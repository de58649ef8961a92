#pragma once

namespace protomesh::signals {

// Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread (call first thing
// in main(), before any thread starts, so every thread inherits the mask).
void BlockTerminationSignals();
// Waits for SIGTERM or SIGINT and returns the signal number.
int WaitForTerminationSignal();

}  // namespace protomesh::signals
