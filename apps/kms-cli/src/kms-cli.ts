import { status } from '@grpc/grpc-js';
import { Command, CommanderError, Option } from 'commander';
import { createKmsClient, KmsCallError, type KmsClient, type KmsMethod } from '@kms/contracts';
import { batchReEncrypt } from './commands/batch-reencrypt.command';
import { exportEvidence } from './commands/export-evidence.command';
import { exportAudit } from './commands/export-audit.command';
import { hsmEvidence } from './commands/hsm-evidence.command';
import { type LegalArtifactRegisterOptions, legalArtifactList, legalArtifactRegister, legalArtifactWithdraw } from './commands/legal-artifact.command';
import { reconcileLedger } from './commands/reconcile-ledger.command';
import { verifyChainFiles } from './commands/verify-chain.command';
import { backupRewrap } from './commands/backup-rewrap.command';
import { type DrillRecordOptions, drillRecord, drillStatus } from './commands/drill.command';
import { login, logout } from './commands/login.command';
import type { ProgressSink } from './commands/progress';
import { type CliConfig, configFilePath, resolveCliConfig } from './config/cli-config';
import { formatPicked, formatTable, pick, toJsonValue } from './output/output-formatter';
import { type FieldInfo, type MethodInfo, ProtoCatalog, typeLabel } from './proto/proto-catalog';
import { CliUsageError } from './request/cli-usage.error';
import { custodianCommand } from './commands/custodian.command';
import { buildRequest, type FieldFlags, flagName, optionKey } from './request/request-builder';

/** What the CLI talks to: output streams, environment, and how it reaches the server (tests inject). */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** The stream progress bars draw on (stderr). */
  progressStream: ProgressSink;
  env: NodeJS.ProcessEnv;
  stdin: () => string;
  connect?: (address: string) => KmsClient;
}

/** Exit codes: 0 done, 1 the server refused or an item failed, 2 the command line or request is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Hand-written examples for the calls people start with; others get one built from the fields. */
const EXAMPLES: Record<string, string[]> = {
  IssueToken: [`kms issue-token '{"client_id":"<id>","client_secret":"<secret>"}' --get access_token`, `kms issue-token --client-id <workload id> --client-secret <secret>   # workloads; people: kms login`],
  RegisterIdentity: [`KMS_TOKEN=$ADMIN kms register-identity '{"name":"orders-service","kind":"WORKLOAD"}'`],
  CreateKey: [
    `kms create-key '{"tenant":"acme","name":"payments","purpose":"SERVICE_ENVELOPE","algorithm":"AES_256_GCM","policy":{"grants":{"<workload id>":{"permissions":["ENCRYPT","DECRYPT"]}}}}' --get key_id`,
  ],
  Encrypt: [`kms encrypt '{"key_id":"<key id>","plaintext":"aGVsbG8=","aad":"b3JkZXItNDI="}' --get ciphertext`, `kms encrypt --key-id <key id> --plaintext "$(printf hello | base64)"`],
  Decrypt: [`kms decrypt '{"ciphertext":"<base64>","aad":"b3JkZXItNDI="}' --get plaintext`],
  ReEncrypt: [`kms re-encrypt --ciphertext <base64> --destination-key-id <key id>`],
  RotateKey: [`kms rotate-key --key-id <key id> --reason MANUAL --get primary_version`],
  GetKey: [`kms get-key --key-id <key id>`, `kms get-key --key-id <key id> --json`],
  ListKeys: [`kms list-keys --tenant acme --purpose DATA_PROTECTION --labels team=payments`],
  GetKeyOriginStatement: [`kms get-key-origin-statement --key-id <key id> --get attestation_public_key_pem > attestation.pem`],
  ApproveRequest: [`kms approve-request --approval-id <id>`],
  ChangeIdentityRoles: [
    `kms change-identity-roles --identity-id <id> --roles sre-oncall --roles key-admin --context '{"change_ticket":"CHG-1234"}' # answered APPROVAL_REQUIRED; a second person runs kms approve-request`,
  ],
  BindClientCertificate: [
    `kms bind-client-certificate --identity-id <workload id> --certificate "$(base64 -w0 client.crt)" --context '{"change_ticket":"CHG-1234"}' # answered APPROVAL_REQUIRED; a second person runs kms approve-request`,
    `kms bind-client-certificate --identity-id <workload id> --context '{"change_ticket":"CHG-1234"}' # no certificate: unbind (two people too)`,
  ],
};

function placeholder(f: FieldInfo): unknown {
  const one = (x: FieldInfo): unknown => {
    if (x.kind === 'enum') return x.values.find((v) => !v.endsWith('_UNSPECIFIED')) ?? x.values[0];
    if (x.kind === 'message') return {};
    if (x.kind === 'map') return { '<key>': one(x.value) };
    if (x.type === 'bytes') return 'aGVsbG8=';
    if (x.type === 'bool') return true;
    if (x.type === 'string') return `<${x.name}>`;
    return 1;
  };
  return f.repeated ? [one(f)] : one(f);
}

function examples(catalog: ProtoCatalog, m: MethodInfo): string[] {
  if (EXAMPLES[m.name]) return EXAMPLES[m.name];
  // Scalars and enums only, first of each oneof: a request the reader can complete.
  const seen = new Set<string>();
  const fields = catalog.fields(m.requestType).filter((f) => (f.kind === 'scalar' || f.kind === 'enum') && !(f.oneof && seen.has(f.oneof)) && (f.oneof ? seen.add(f.oneof) : true));
  return [`kms ${m.command} '${JSON.stringify(Object.fromEntries(fields.map((f) => [f.name, placeholder(f)])))}'`];
}

/** The "Request fields" section of a method's --help: name, type, enum values and the proto's comment. */
export function fieldsHelp(catalog: ProtoCatalog, m: MethodInfo): string {
  const fields = catalog.fields(m.requestType);
  const width = Math.max(4, ...fields.map((f) => f.name.length));
  const rows = fields.map((f) => {
    const notes = [
      f.kind === 'enum' ? `${typeLabel(f)}: ${f.values.filter((v) => !v.endsWith('_UNSPECIFIED')).join(' | ')}` : typeLabel(f),
      f.oneof ? `(one of "${f.oneof}")` : '',
      f.kind === 'message' ? `(JSON: ${catalog.fields(f.type).map((x) => `${x.name}: ${typeLabel(x)}`).join(', ')})` : '',
      f.comment ? `— ${f.comment}` : '',
    ].filter(Boolean);
    return `  ${f.name.padEnd(width)}  ${notes.join(' ')}`;
  });
  return [
    '',
    `Request fields (${m.requestType}; JSON argument and/or flags, proto field names, bytes as base64):`,
    ...(rows.length > 0 ? rows : ['  (none)']),
    '',
    `Response: ${m.responseType} (a table; --json for JSON, --get <field> for one value)`,
    '',
    'Example:',
    ...examples(catalog, m).map((e) => `  ${e}`),
    '',
  ].join('\n');
}

const ENVIRONMENT_HELP = `
Where calls go and as whom (flags win over the environment, the environment over the config file):
  --address / KMS_ADDRESS      gRPC host:port of the key service (default 127.0.0.1:50051)
  --token / KMS_TOKEN          bearer token from \`kms issue-token\` (15 minutes at most); without one,
                               the token \`kms login\` kept (KMS_TOKEN_FILE, default $XDG_CONFIG_HOME/kms/token.json)
  --http-url / KMS_HTTP_URL    HTTP API base for export-evidence and reconcile-ledger (default http://127.0.0.1:8080)
  --timeout / KMS_TIMEOUT_MS   per-call deadline in ms (default 30000)
  --config / KMS_CONFIG        JSON config file {"address", "http_url", "token", "timeout_ms"};
                               default $XDG_CONFIG_HOME/kms/config.json or ~/.config/kms/config.json
                               (a file holding a token must be mode 0600)

Every method is also accepted by its proto name: \`kms Encrypt '{...}'\` = \`kms encrypt '{...}'\`.
Exit codes: 0 done, 1 refused by the server (or a batch item failed), 2 bad command line or request.
`;

interface CommonOptions {
  address?: string;
  token?: string;
  httpUrl?: string;
  timeout?: string;
  config?: string;
  json?: boolean;
  get?: string;
  requestId?: string;
}

function addCommonOptions(cmd: Command, output = true): Command {
  cmd
    .option('--address <host:port>', 'key service gRPC address (KMS_ADDRESS)')
    .option('--token <token>', 'bearer token (KMS_TOKEN)')
    .option('--http-url <url>', 'HTTP API base URL (KMS_HTTP_URL)')
    .option('--timeout <ms>', 'per-call deadline in ms (KMS_TIMEOUT_MS)')
    .option('--config <file>', 'config file (KMS_CONFIG)');
  if (output) {
    cmd
      .option('--json', 'print the response as JSON (bytes as base64), for scripts')
      .option('--get <field>', 'print one field of the response (dotted path, e.g. versions.0.state): strings bare, others as JSON')
      .option('--request-id <id>', 'x-request-id for the call (echoed back, recorded in its audit record)');
  }
  return cmd;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The `kms` program: a subcommand per RPC of the three services, plus batch-reencrypt-file, export-evidence and config. */
export function buildProgram(io: CliIo, catalog: ProtoCatalog, setExit: (code: number) => void): Command {
  const program = new Command('kms')
    .description('Command-line client of the Open KMS gRPC API (kms.v1 KeyManagementService, IdentityService, ApprovalService).')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showSuggestionAfterError(true)
    // One short term per command ("encrypt (Encrypt)"): the arguments are in each command's --help.
    .configureHelp({ subcommandTerm: (c) => (c.aliases()[0] ? `${c.name()} (${c.aliases()[0]})` : c.name()) })
    .addHelpText('after', ENVIRONMENT_HELP);
  // Commands built with `new Command` do not inherit the program's output and exit settings by themselves.
  const add = (cmd: Command): void => void program.addCommand(cmd.copyInheritedSettings(program));
  let client: KmsClient | undefined;
  const connect = (config: CliConfig): KmsClient => (client ??= (io.connect ?? createKmsClient)(config.address));
  const config = (o: CommonOptions): CliConfig => resolveCliConfig(o, io.env);
  /** The configuration of a command that needs a token: an expired `kms login` token is named, not silently dropped. */
  const withToken = (o: CommonOptions): CliConfig => {
    const c = config(o);
    if (!c.token && c.loginExpiredAt) throw new CliUsageError(`the token from kms login expired at ${c.loginExpiredAt}; run kms login again (or set KMS_TOKEN)`, 'token');
    return c;
  };
  // A custodian acts as themselves: the calls go with the token and address the rest of the CLI uses.
  add(
    custodianCommand(io, async (o, method, request) => {
      const c = withToken(o as CommonOptions);
      return connect(c).call(method, request, { ...(c.token ? { token: c.token } : {}), deadlineMs: c.timeoutMs });
    }),
  );

  for (const m of catalog.methods()) {
    const fields = catalog.fields(m.requestType);
    const cmd = new Command(m.command)
      .alias(m.name)
      .summary(m.comment ? (m.comment.length > 90 ? `${m.comment.slice(0, 87)}…` : m.comment) : `${m.requestType} -> ${m.responseType}`)
      .helpGroup(`${m.service} (kms.v1):`)
      .description(`${m.service}/${m.name}: ${m.requestType} -> ${m.responseType}.${m.comment ? `\n${m.comment}` : ''}`)
      .argument('[request]', `the request as JSON (${m.requestType})`)
      .addHelpText('after', fieldsHelp(catalog, m));
    for (const f of fields) {
      const many = f.repeated || f.kind === 'map';
      const value = f.kind === 'map' ? 'key=value' : f.kind === 'message' ? 'json' : 'value';
      const opt = new Option(`${flagName(f.name)} <${value}>`, `${typeLabel(f)}${many ? ' (repeat the flag)' : ''}${f.comment ? ` — ${f.comment}` : ''}`);
      if (f.kind === 'enum') opt.choices(f.values);
      if (many) opt.argParser(collect);
      cmd.addOption(opt);
    }
    addCommonOptions(cmd).action(async (json: string | undefined, opts: CommonOptions & Record<string, string | string[] | undefined>) => {
      const flags: FieldFlags = Object.fromEntries(fields.map((f) => [f.name, opts[optionKey(f.name)]]));
      const request = buildRequest(catalog, m.requestType, json, flags);
      const c = m.name === 'IssueToken' ? config(opts) : withToken(opts);
      const response = await connect(c).call(m.name as KmsMethod, request, {
        ...(c.token ? { token: c.token } : {}),
        ...(opts.requestId ? { requestId: opts.requestId } : {}),
        deadlineMs: c.timeoutMs,
      });
      if (opts.get !== undefined) io.stdout(`${formatPicked(pick(response, opts.get))}\n`);
      else if (opts.json) io.stdout(`${JSON.stringify(toJsonValue(response), null, 2)}\n`);
      else io.stdout(`${formatTable(response)}\n`);
      setExit(EXIT.ok);
    });
    add(cmd);
  }

  const progressOption = (cmd: Command): Command =>
    cmd.option('--progress', 'always draw the progress bar on stderr (default: when stderr is a terminal)').option('--no-progress', 'never draw it');
  const progressMode = (v: boolean | undefined): 'auto' | 'on' | 'off' => (v === undefined ? 'auto' : v ? 'on' : 'off');

  const batch = new Command('batch-reencrypt-file')
    .helpGroup('Jobs and settings:')
    .summary('move every ciphertext of a file to the current primary version (BatchReEncrypt), with a progress bar')
    .description(
      'Reads one base64 ciphertext per line ("-" = stdin), re-encrypts them with BatchReEncrypt in batches and prints the new\n' +
        'ciphertexts in the same order (an empty line where an item failed; the reason goes to stderr). Exit 1 if any item failed.',
    )
    .argument('<file>', 'file of base64 ciphertexts, one per line, or - for stdin')
    .option('--destination-key-id <key id>', 'move to this key (default: the key each ciphertext came from)')
    .option('--source-aad <base64>', 'AAD the ciphertexts were made with')
    .option('--destination-aad <base64>', 'AAD for the new ciphertexts')
    .option('--batch-size <n>', 'items per call, 1 to 500', '100')
    .option('--out <file>', 'write the new ciphertexts here instead of stdout')
    .addHelpText('after', '\nExample:\n  kms batch-reencrypt-file old.txt --destination-key-id <key id> --out new.txt\n');
  addCommonOptions(progressOption(batch), false)
    .option('--json', 'JSON lines {line, ciphertext, key_id, key_version} or {line, error}')
    .action(async (file: string, opts: CommonOptions & { destinationKeyId?: string; sourceAad?: string; destinationAad?: string; batchSize: string; out?: string; progress?: boolean }) => {
      const c = withToken(opts);
      setExit(
        await batchReEncrypt(
          catalog,
          connect(c),
          { ...(c.token ? { token: c.token } : {}), deadlineMs: c.timeoutMs },
          file,
          {
            ...(opts.destinationKeyId ? { destinationKeyId: opts.destinationKeyId } : {}),
            ...(opts.sourceAad ? { sourceAad: opts.sourceAad } : {}),
            ...(opts.destinationAad ? { destinationAad: opts.destinationAad } : {}),
            batchSize: Number(opts.batchSize),
            ...(opts.out ? { out: opts.out } : {}),
            json: Boolean(opts.json),
            progress: progressMode(opts.progress),
          },
          io,
        ),
      );
    });
  add(batch);

  const evidence = new Command('export-evidence')
    .helpGroup('Jobs and settings:')
    .summary("download a key's evidence bundle from the compliance API, with a progress bar")
    .description('GET /v1/evidence/keys/{key_id} with a compliance-officer or security-engineering token; writes the ustar bundle.')
    .argument('<key_id>', 'the key')
    .option('--from <time>', 'RFC 3339 start of the audit window')
    .option('--to <time>', 'RFC 3339 end of the audit window')
    .option('--out <file>', 'where to write the bundle (default evidence-<key_id>.tar)')
    .option('--key-out <file>', "also write the bundle's copy of the attestation public key (PEM)")
    .option('--url <url>', 'same as --http-url (the old scripts/export-evidence.ts flag)')
    .addHelpText('after', '\nExample:\n  KMS_TOKEN=$AUDITOR kms export-evidence <key id> --out bundle.tar\n  npx tsx scripts/verify-evidence-bundle.ts bundle.tar attestation.pem\n');
  addCommonOptions(progressOption(evidence), false).action(
    async (keyId: string, opts: CommonOptions & { from?: string; to?: string; out?: string; keyOut?: string; url?: string; progress?: boolean }) => {
      const c = withToken({ ...opts, ...(opts.url && !opts.httpUrl ? { httpUrl: opts.url } : {}) });
      setExit(
        await exportEvidence(
          c.httpUrl,
          c.token,
          keyId,
          { ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}), ...(opts.out ? { out: opts.out } : {}), ...(opts.keyOut ? { keyOut: opts.keyOut } : {}), progress: progressMode(opts.progress) },
          io,
        ),
      );
    },
  );
  add(evidence);

  const auditExport = new Command('export-audit')
    .helpGroup('Jobs and settings:')
    .summary('download the audit records of a window as OCSF JSON lines, with their manifest')
    .description('GET /v1/audit/export?format=ocsf and /v1/audit/export/manifest with a compliance-officer or security-engineering token (docs/jurisdictions.md).')
    .requiredOption('--from <time>', 'RFC 3339 start of the window (included)')
    .requiredOption('--to <time>', 'RFC 3339 end of the window (excluded)')
    .option('--out <file>', 'where to write the JSON lines')
    .option('--manifest-out <file>', 'where to write the manifest (default <out>.manifest.json)');
  addCommonOptions(auditExport, false).action(async (opts: CommonOptions & { from: string; to: string; out?: string; manifestOut?: string }) => {
    const c = withToken(opts);
    setExit(await exportAudit(c.httpUrl, c.token, { from: opts.from, to: opts.to, ...(opts.out ? { out: opts.out } : {}), ...(opts.manifestOut ? { manifestOut: opts.manifestOut } : {}) }, io));
  });
  add(auditExport);

  const hsmBundle = new Command('hsm-evidence')
    .helpGroup('Jobs and settings:')
    .summary("download one HSM instance's attestation bundle (PDF and canonical JSON), anchored in the ledger")
    .description('GET /v1/evidence/hsms/{id} (format pdf, then json) with a compliance-officer or security-engineering token (docs/jurisdictions.md).')
    .requiredOption('--id <hsm>', 'the HSM instance id (KMS_HSM_INSTANCES)')
    .option('--out <file>', 'where to write the PDF (the JSON goes to <out>.json)');
  addCommonOptions(hsmBundle, false).action(async (opts: CommonOptions & { id: string; out?: string }) => {
    const c = withToken(opts);
    setExit(await hsmEvidence(c.httpUrl, c.token, { id: opts.id, ...(opts.out ? { out: opts.out } : {}) }, io));
  });
  add(hsmBundle);

  const legalCmd = new Command('legal-artifact')
    .helpGroup('Jobs and settings:')
    .summary("a jurisdiction's legal appendix (DTIA, provider statements, emergency access plan): register, withdraw, list");
  const legalRegisterCmd = new Command('register')
    .summary('register a document: --file uploads it (SHA-256 computed by the server), --url + --sha256 references it')
    .description('POST /v1/legal-artifacts/uploads or /v1/legal-artifacts with a compliance-officer or security-engineering token (docs/jurisdictions.md).')
    .requiredOption('--jurisdiction <j>', 'a configured jurisdiction (e.g. eu)')
    .requiredOption('--kind <kind>', 'DTIA, PROVIDER_STATEMENT, EMERGENCY_ACCESS_PLAN or OTHER')
    .requiredOption('--title <title>', 'what the document is')
    .requiredOption('--owner <owner>', 'who answers for it')
    .requiredOption('--retention-location <where>', 'where the document itself is retained')
    .option('--file <path>', 'the document to upload (at most 10 MiB)')
    .option('--media-type <type>', 'its media type (default from the extension)')
    .option('--url <https-url>', 'where the referenced document is')
    .option('--sha256 <hex>', "the referenced document's SHA-256")
    .option('--supersedes <artifact-id>', 'an ACTIVE artifact of the same jurisdiction this one replaces');
  addCommonOptions(legalRegisterCmd, false).action(async (opts: CommonOptions & LegalArtifactRegisterOptions) => {
    const c = withToken(opts);
    const { jurisdiction, kind, title, owner, retentionLocation, file, mediaType, url, sha256, supersedes } = opts;
    const options: LegalArtifactRegisterOptions = {
      jurisdiction,
      kind,
      title,
      owner,
      retentionLocation,
      ...(file !== undefined ? { file } : {}),
      ...(mediaType !== undefined ? { mediaType } : {}),
      ...(url !== undefined ? { url } : {}),
      ...(sha256 !== undefined ? { sha256 } : {}),
      ...(supersedes !== undefined ? { supersedes } : {}),
    };
    setExit(await legalArtifactRegister(c.httpUrl, c.token, options, io));
  });
  legalCmd.addCommand(legalRegisterCmd.copyInheritedSettings(program));
  const legalWithdrawCmd = new Command('withdraw').summary('withdraw an ACTIVE artifact (it stays listed, WITHDRAWN)').argument('<artifact-id>').requiredOption('--reason <text>', 'why');
  addCommonOptions(legalWithdrawCmd, false).action(async (id: string, opts: CommonOptions & { reason: string }) => {
    const c = withToken(opts);
    setExit(await legalArtifactWithdraw(c.httpUrl, c.token, id, opts.reason, io));
  });
  legalCmd.addCommand(legalWithdrawCmd.copyInheritedSettings(program));
  const legalListCmd = new Command('list')
    .summary("every configured jurisdiction's artifacts, or one's")
    .option('--jurisdiction <j>', 'only this jurisdiction')
    .option('--status <status>', 'ACTIVE, SUPERSEDED or WITHDRAWN')
    .option('--json', 'print the answer as JSON');
  addCommonOptions(legalListCmd, false).action(async (opts: CommonOptions & { jurisdiction?: string; status?: string; json?: boolean }) => {
    const c = withToken(opts);
    setExit(await legalArtifactList(c.httpUrl, c.token, { ...(opts.jurisdiction ? { jurisdiction: opts.jurisdiction } : {}), ...(opts.status ? { status: opts.status } : {}), json: opts.json === true }, io));
  });
  legalCmd.addCommand(legalListCmd.copyInheritedSettings(program));
  add(legalCmd);

  const reconcile = new Command('reconcile-ledger')
    .helpGroup('Jobs and settings:')
    .summary('re-read the source tables against the audit ledger now and name every record that differs')
    .description(
      'POST /v1/ledger/reconciliations on the audit projector with a compliance-officer or security-engineering token: checks every event and audit record seal and chain, that everything projected is in the ledger as it was, and the signed checkpoints. Exit 1 on any divergence.',
    )
    .option('--json', 'print the whole report as JSON');
  addCommonOptions(reconcile, false).action(async (opts: CommonOptions & { json?: boolean }) => {
    const c = withToken(opts);
    setExit(await reconcileLedger(c.httpUrl, c.token, { json: opts.json === true }, io));
  });
  add(reconcile);

  const verifyChainCmd = new Command('verify-chain')
    .helpGroup('Jobs and settings:')
    .summary('verify a regulatory proof token chain offline (signatures, prev links, gapless seq, time) and name the first bad token')
    .argument('<chain>', 'chain export: the JSON of `kms get-proof-chain --json` or {"tenant", "tokens": [...]}')
    .requiredOption('--jwks <file>', 'the JWK Set (GET /.well-known/jwks.json?tenant=<tenant>), retired root versions included')
    .option('--json', 'print the verdict as JSON');
  verifyChainCmd.action((chain: string, opts: { jwks: string; json?: boolean }) => {
    setExit(verifyChainFiles(chain, opts.jwks, { json: opts.json === true }, io));
  });
  add(verifyChainCmd);

  const rewrapCmd = new Command('backup-rewrap')
    .helpGroup('Jobs and settings:')
    .summary('after a rotation of the backup key, re-wrap the data key of every retained backup with ReEncrypt')
    .option('--target <dir>', 'a backup target directory (repeat for each)', (v: string, all: string[]) => [...all, v], [] as string[]);
  addCommonOptions(rewrapCmd, false).action(async (opts: CommonOptions & { target: string[] }) => {
    const c = withToken(opts);
    setExit(await backupRewrap(connect(c), c.token, opts.target, io));
  });
  add(rewrapCmd);

  const drillCmd = new Command('drill').helpGroup('Jobs and settings:').summary('backup-restore drills: record one (its follow-ups due in 5 business days), show what is open or overdue');
  const drillRecordCmd = new Command('record')
    .summary('record a drill: date, participants, archive, outcome, follow-up actions (owner:action)')
    .requiredOption('--date <YYYY-MM-DD>', 'the day of the drill')
    .requiredOption('--participants <names>', 'who took part (repeat, or comma-separated)', collect, [] as string[])
    .requiredOption('--archive <backup>', 'the backup restored (its directory)')
    .requiredOption('--outcome <outcome>', 'PASSED, FAILED or PARTIAL')
    .option('--follow-up <owner:action>', 'a gap to remediate, with its owner (repeat for each)', collect, [] as string[]);
  addCommonOptions(drillRecordCmd, false).action(async (opts: CommonOptions & DrillRecordOptions) => {
    const c = withToken(opts);
    setExit(await drillRecord(connect(c), c.token, opts, io));
  });
  drillCmd.addCommand(drillRecordCmd.copyInheritedSettings(program));
  const drillStatusCmd = new Command('status').summary('the next monthly drill\'s due date and the open follow-ups (exit 1 when anything is overdue)');
  addCommonOptions(drillStatusCmd, false).action(async (opts: CommonOptions) => {
    const c = withToken(opts);
    setExit(await drillStatus(connect(c), c.token, io));
  });
  drillCmd.addCommand(drillStatusCmd.copyInheritedSettings(program));
  add(drillCmd);

  const loginCmd = new Command('login')
    .helpGroup('Jobs and settings:')
    .summary('sign in as a person: approve a code in the console (FIDO2 + TOTP), keep the token in a 0600 file')
    .description(
      'Device authorization (RFC 8628): prints a code and the console URL; a person signed in to the console approves it;\n' +
        'the token (at most 15 minutes, your own) goes to KMS_TOKEN_FILE or $XDG_CONFIG_HOME/kms/token.json (mode 0600),\n' +
        'which later commands use when neither --token nor KMS_TOKEN is given.',
    )
    .option('--client-name <name>', 'what the console shows as asking (default "kms login on <host>")');
  addCommonOptions(loginCmd, false).action(async (opts: CommonOptions & { clientName?: string }) => {
    const c = config({ ...opts, token: 'unused' });
    setExit(await login(c.httpUrl, c.tokenFile, { ...(opts.clientName ? { clientName: opts.clientName } : {}) }, io));
  });
  add(loginCmd);

  const logoutCmd = new Command('logout').helpGroup('Jobs and settings:').description('delete the token file kms login wrote');
  addCommonOptions(logoutCmd, false).action((opts: CommonOptions) => {
    setExit(logout(config({ ...opts, token: 'unused' }).tokenFile, io));
  });
  add(logoutCmd);

  const show = new Command('config')
    .helpGroup('Jobs and settings:')
    .description('show where calls go (address, HTTP URL, timeout, whether a token is set, which config file was read)');
  addCommonOptions(show, false).action((opts: CommonOptions) => {
    const c = config(opts);
    io.stdout(`${formatTable({ address: c.address, http_url: c.httpUrl, timeout_ms: c.timeoutMs, token: c.token ? `set (${c.tokenSource ?? 'flag'})` : c.loginExpiredAt ? `expired (kms login, at ${c.loginExpiredAt})` : 'not set', token_file: c.tokenFile, config_file: c.file ?? `none (looked for ${configFilePath(io.env).path})` })}\n`);
    setExit(EXIT.ok);
  });
  add(show);

  program.hook('postAction', () => {
    client?.close();
    client = undefined;
  });
  return program;
}

/** Run `kms` with these arguments (without "node" and the script); resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo, catalog: ProtoCatalog = new ProtoCatalog()): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, catalog, (c) => (code = c));
  try {
    if (argv.length === 0) {
      io.stdout(program.helpInformation());
      return EXIT.usage;
    }
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (e instanceof CliUsageError) {
      io.stderr(`error: ${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof KmsCallError) {
      const name = (status as unknown as Record<number, string>)[e.code] ?? String(e.code);
      io.stderr(`error: ${name}${e.errorCode ? ` ${e.errorCode}` : ''}${e.field ? ` (field ${e.field})` : ''}: ${e.details}\n`);
      return EXIT.failed;
    }
    throw e;
  }
}
