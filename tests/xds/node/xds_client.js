'use strict';
// A proxyless gRPC client in Node (@grpc/grpc-js-xds), driven by
// tests/xds/support/node_routing_client.cc over a line protocol:
//
//   stdin:  "call N"  N sequential grpc.health.v1.Health/Check calls to the
//                      target given as argv[2] (an xds:/// URI)
//   stdout: one JSON line per command:
//           {"backends":{"a":90,"b":10},"failures":0,"last_error":""}
//           or {"error":"..."} for a command it does not understand.
//
// "ready" is written once the modules are loaded. The bootstrap comes from
// GRPC_XDS_BOOTSTRAP or GRPC_XDS_BOOTSTRAP_CONFIG, as for any grpc-js-xds
// client. It exits when stdin closes.
const readline = require('node:readline');
const grpc = require('@grpc/grpc-js');
const grpcXds = require('@grpc/grpc-js-xds');

const kMethod = '/grpc.health.v1.Health/Check';
const kCallTimeoutMs = 2000;

grpcXds.register();
const client = new grpc.Client(process.argv[2], grpc.credentials.createInsecure());

// An empty HealthCheckRequest is zero bytes on the wire; only the response
// headers matter here, so the response body is not decoded.
const serializeRequest = () => Buffer.alloc(0);
const deserializeResponse = (bytes) => bytes;

// One call: the value of the "x-backend" header of whoever answered, or an
// error string.
function callOnce() {
  return new Promise((resolve) => {
    let backend = '?';
    const call = client.makeUnaryRequest(
        kMethod, serializeRequest, deserializeResponse, {}, new grpc.Metadata(),
        {deadline: Date.now() + kCallTimeoutMs}, (error) => {
          resolve(error ? {error: `${error.code}: ${error.details}`} : {backend});
        });
    call.on('metadata', (metadata) => {
      const values = metadata.get('x-backend');
      if (values.length > 0) backend = String(values[0]);
    });
  });
}

async function callMany(count) {
  const tally = {backends: {}, failures: 0, last_error: ''};
  for (let i = 0; i < count; ++i) {
    const answer = await callOnce();
    if (answer.error !== undefined) {
      ++tally.failures;
      tally.last_error = answer.error;
    } else {
      tally.backends[answer.backend] = (tally.backends[answer.backend] || 0) + 1;
    }
  }
  return tally;
}

async function main() {
  process.stdout.write('ready\n');
  const lines = readline.createInterface({input: process.stdin, terminal: false});
  for await (const line of lines) {
    const match = /^call (\d+)$/.exec(line.trim());
    const reply = match ? await callMany(Number(match[1])) :
                          {error: `unknown command: ${line}`};
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
  client.close();
  // The xDS client's stream to its server would keep the event loop alive.
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
