import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSync, type MessageTypeDefinition, type PackageDefinition } from '@grpc/proto-loader';
import { KMS_PACKAGE, KMS_PROTO_FILE, PROTO_LOADER_OPTIONS, PROTO_ROOT } from '@kms/contracts';

/** The three services of the contract, in the order the CLI lists them. */
export const SERVICES = ['KeyManagementService', 'IdentityService', 'ApprovalService'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** A scalar proto type, as the descriptor names it without the TYPE_ prefix (lower case). */
export type ScalarType = 'string' | 'bytes' | 'bool' | 'int32' | 'uint32' | 'sint32' | 'fixed32' | 'sfixed32' | 'int64' | 'uint64' | 'sint64' | 'fixed64' | 'sfixed64' | 'double' | 'float';

/** One field of a request or response message. */
export type FieldInfo = {
  name: string;
  repeated: boolean;
  /** Name of the oneof the field belongs to, if any. */
  oneof?: string;
  /** Trailing or leading comment in the proto, if any. */
  comment?: string;
} & (
  | { kind: 'scalar'; type: ScalarType }
  | { kind: 'enum'; type: string; values: string[] }
  | { kind: 'message'; type: string }
  | { kind: 'map'; key: ScalarType; value: FieldInfo }
);

/** One RPC: `kms <command>` (kebab case) or `kms <Method>`. */
export interface MethodInfo {
  service: ServiceName;
  name: string;
  command: string;
  requestType: string;
  responseType: string;
  comment?: string;
}

interface DescriptorField {
  name: string;
  label: string;
  type: string;
  typeName: string;
}
interface DescriptorMessage {
  name: string;
  field: DescriptorField[];
  nestedType: DescriptorMessage[];
  options: { mapEntry?: boolean } | null;
}

/** `CreateKey` -> `create-key`. */
export function commandName(method: string): string {
  return method.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/**
 * Comments of the proto file, by `Message.field` and `Service.Method`: the comment lines right above a
 * declaration, or the one trailing it. proto-loader keeps no comments, so they are read from the text.
 */
function protoComments(text: string): { comments: Map<string, string>; oneofs: Map<string, string> } {
  const out = new Map<string, string>();
  // proto-loader fills oneofIndex with 0 for every field, so oneof membership is read here too.
  const oneofs = new Map<string, string>();
  const scope: string[] = [];
  let pending: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const trailing = /\/\/\s?(.*)$/.exec(line)?.[1]?.trim();
    const code = line.replace(/\/\/.*$/, '').trim();
    if (code === '') {
      pending = line.startsWith('//') ? [...pending, line.replace(/^\/\/\s?/, '')] : [];
      continue;
    }
    const comment = (pending.length > 0 ? pending.join(' ') : trailing)?.trim();
    const block = /^(message|service|enum|oneof)\s+(\w+)\s*\{/.exec(code);
    const rpc = /^rpc\s+(\w+)\s*\(/.exec(code);
    const field = /^(?:repeated\s+|optional\s+)?(?:map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*\d+/.exec(code);
    const owner = scope.filter((s) => !s.startsWith('oneof:')).at(-1);
    const inOneof = scope.at(-1)?.startsWith('oneof:') ? scope.at(-1)?.slice('oneof:'.length) : undefined;
    // A one-word comment right above an rpc ("// Lifecycle.") heads a group of methods, not the method.
    if (rpc && owner && comment && !/^\w+\.$/.test(comment)) out.set(`${owner}.${rpc[1]}`, comment);
    else if (field && owner && comment) out.set(`${owner}.${field[1]}`, comment);
    if (field && owner && inOneof) oneofs.set(`${owner}.${field[1]}`, inOneof);
    if (block) scope.push(block[1] === 'oneof' ? `oneof:${block[2]}` : block[2]);
    // A one-line block (`message X { … }`) opens and closes here; its field comment is the trailing one.
    const inline = block && code.endsWith('}') ? /\{\s*(?:repeated\s+)?(?:map<[^>]+>|[\w.]+)\s+(\w+)\s*=/.exec(code) : null;
    if (inline && trailing) out.set(`${block?.[2]}.${inline[1]}`, trailing);
    for (let i = 0; i < (code.match(/\}/g) ?? []).length; i++) scope.pop();
    pending = [];
  }
  return { comments: out, oneofs };
}

/** The contract's services, methods and messages, read from the proto with @grpc/proto-loader. */
export class ProtoCatalog {
  private readonly def: PackageDefinition;
  private readonly comments: Map<string, string>;
  private readonly oneofs: Map<string, string>;

  constructor(protoRoot: string = PROTO_ROOT, file: string = KMS_PROTO_FILE) {
    this.def = loadSync(join(protoRoot, file), { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot] });
    ({ comments: this.comments, oneofs: this.oneofs } = protoComments(readFileSync(join(protoRoot, file), 'utf8')));
  }

  /** Every unary method of the three services. */
  methods(): MethodInfo[] {
    return SERVICES.flatMap((service) => {
      const svc = this.def[`${KMS_PACKAGE}.${service}`] as unknown as Record<string, { originalName?: string; requestType: MessageTypeDefinition<unknown, unknown>; responseType: MessageTypeDefinition<unknown, unknown>; requestStream: boolean }>;
      return Object.entries(svc)
        .filter(([, m]) => !m.requestStream)
        .map(([name, m]) => {
          const comment = this.comments.get(`${service}.${name}`);
          return {
            service,
            name,
            command: commandName(name),
            requestType: (m.requestType.type as unknown as DescriptorMessage).name,
            responseType: (m.responseType.type as unknown as DescriptorMessage).name,
            ...(comment ? { comment } : {}),
          };
        });
    });
  }

  /** The fields of message `type` (short name in kms.v1, e.g. "EncryptRequest"). */
  fields(type: string): FieldInfo[] {
    const msg = this.message(type);
    return msg.field.map((f) => this.fieldInfo(type, msg, f));
  }

  private message(type: string): DescriptorMessage {
    const entry = this.def[`${KMS_PACKAGE}.${type}`] as MessageTypeDefinition<unknown, unknown> | undefined;
    if (!entry || entry.format !== 'Protocol Buffer 3 DescriptorProto') throw new Error(`no message ${type} in the contract`);
    return entry.type as unknown as DescriptorMessage;
  }

  private fieldInfo(owner: string, msg: DescriptorMessage, f: DescriptorField): FieldInfo {
    const comment = this.comments.get(`${owner}.${f.name}`);
    const oneof = this.oneofs.get(`${owner}.${f.name}`);
    const base = { name: f.name, repeated: f.label === 'LABEL_REPEATED', ...(oneof ? { oneof } : {}), ...(comment ? { comment } : {}) };
    if (f.type === 'TYPE_MESSAGE') {
      const entry = msg.nestedType.find((n) => n.name === f.typeName && n.options?.mapEntry);
      if (entry) {
        const [k, v] = entry.field;
        const value = this.fieldInfo(owner, entry, { ...v, name: 'value' });
        return { ...base, repeated: false, kind: 'map', key: k.type.replace('TYPE_', '').toLowerCase() as ScalarType, value };
      }
      return { ...base, kind: 'message', type: f.typeName.replace(/^\.?kms\.v1\./, '') };
    }
    if (f.type === 'TYPE_ENUM') {
      const type = f.typeName.replace(/^\.?kms\.v1\./, '');
      const e = this.def[`${KMS_PACKAGE}.${type}`] as unknown as { type: { value: Array<{ name: string }> } };
      return { ...base, kind: 'enum', type, values: e.type.value.map((v) => v.name) };
    }
    return { ...base, kind: 'scalar', type: f.type.replace('TYPE_', '').toLowerCase() as ScalarType };
  }
}

/** How a field's type reads in help text: `bytes (base64)`, `repeated string`, `map<string, PermissionList>`, `KeyPurpose`. */
export function typeLabel(f: FieldInfo): string {
  const one = (x: FieldInfo): string =>
    x.kind === 'scalar' ? (x.type === 'bytes' ? 'bytes (base64)' : x.type) : x.kind === 'map' ? `map<${x.key}, ${one(x.value)}>` : x.type;
  return `${f.repeated ? 'repeated ' : ''}${one(f)}`;
}
