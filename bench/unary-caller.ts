import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS } from '@kms/contracts';

/** Messages as proto-loader gives them: plain objects with the proto's field names. */
export type Message = Record<string, unknown>;

/** Which unary method to call, by proto file and fully qualified service name. */
export interface UnaryTarget {
  /** host:port; always 127.0.0.1 here. */
  address: string;
  protoFile: string;
  includeDirs: string[];
  /** e.g. kms.v1.KeyManagementService */
  service: string;
  method: string;
}

export interface UnaryCaller {
  call(request: Message, metadata: Record<string, string>, deadlineMs: number): Promise<Message>;
  waitForReady(deadlineMs: number): Promise<void>;
  close(): void;
}

/**
 * A plain grpc-js Client calling one unary method with the serializers proto-loader builds, knowing
 * nothing of the service: the load generator drives the echo baseline and the KMS through this same code.
 */
export function unaryCaller(target: UnaryTarget): UnaryCaller {
  const def = loadSync(target.protoFile, { ...PROTO_LOADER_OPTIONS, includeDirs: target.includeDirs });
  const service = def[target.service];
  if (!service || 'format' in service) throw new Error(`${target.service} is not a service in ${target.protoFile}`);
  const found = service[target.method];
  if (!found || found.requestStream || found.responseStream) throw new Error(`${target.service}/${target.method} is not a unary method`);
  const method = found as MethodDefinition<Message, Message>;
  const client = new Client(target.address, credentials.createInsecure());
  return {
    call(request, headers, deadlineMs) {
      // Built per call, as a real client builds its metadata per call.
      const metadata = new Metadata();
      for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          metadata,
          { deadline: Date.now() + deadlineMs },
          (err: ServiceError | null, response?: Message) => (err || !response ? reject(err ?? new Error('empty response')) : resolve(response)),
        );
      });
    },
    waitForReady(deadlineMs) {
      return new Promise((resolve, reject) => client.waitForReady(Date.now() + deadlineMs, (err) => (err ? reject(err) : resolve())));
    },
    close: () => client.close(),
  };
}
