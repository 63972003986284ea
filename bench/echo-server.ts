import { join } from 'node:path';
import { type sendUnaryData, Server, ServerCredentials, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS } from '@kms/contracts';
import { CIPHERTEXT_OVERHEAD } from '@kms/domain';

export const ECHO_PROTO_FILE = join(__dirname, 'echo.proto');
export const ECHO_SERVICE = 'bench.v1.Echo';
export const ECHO_METHOD = 'Echo';

interface EchoRequest {
  key_id: string;
  plaintext: Buffer;
  aad: Buffer;
}

interface EchoResponse {
  ciphertext: Buffer;
  key_id: string;
  key_version: number;
}

export interface RunningEchoServer {
  /** 127.0.0.1:<ephemeral port> */
  address: string;
  close(): Promise<void>;
}

/**
 * A bare grpc-js server (no Nest) answering bench.v1.Echo: what the transport alone costs for an
 * Encrypt-shaped call. The response is as large as an Encrypt response (plaintext + framing) and,
 * like one, a fresh buffer per call.
 */
export async function startEchoServer(): Promise<RunningEchoServer> {
  const def = loadSync(ECHO_PROTO_FILE, PROTO_LOADER_OPTIONS);
  const service = def[ECHO_SERVICE];
  if (!service || 'format' in service) throw new Error(`${ECHO_SERVICE} is not a service in ${ECHO_PROTO_FILE}`);
  const framing = Buffer.alloc(CIPHERTEXT_OVERHEAD);
  // Same constructor options as Nest's gRPC transport with the key service's settings (none).
  const server = new Server();
  server.addService(service, {
    [ECHO_METHOD]: (call: ServerUnaryCall<EchoRequest, EchoResponse>, callback: sendUnaryData<EchoResponse>) => {
      callback(null, { ciphertext: Buffer.concat([call.request.plaintext, framing]), key_id: call.request.key_id, key_version: 1 });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // The load has drained by now; force it if a call is somehow still open.
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 5_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
