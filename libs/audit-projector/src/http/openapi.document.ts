const problem = { $ref: '#/components/schemas/Problem' };
const errors = {
  '400': { description: 'Bad query parameter (RFC 7807, names the field)', content: { 'application/problem+json': { schema: problem } } },
  '401': { description: 'No or invalid bearer token', content: { 'application/problem+json': { schema: problem } } },
  '403': { description: 'The role may not call this (ReadAudit / ExportEvidence)', content: { 'application/problem+json': { schema: problem } } },
  '503': { description: 'Audit log unavailable (fail closed) or projections not ready', content: { 'application/problem+json': { schema: problem } } },
};
const q = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
const json = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
const log = { name: 'log', in: 'path', required: true, schema: { type: 'string', enum: ['events', 'audit'] } };

/** OpenAPI 3.1 description of the compliance API, served at GET /v1/openapi.json. */
export const COMPLIANCE_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Open KMS compliance API',
    version: '1.0.0',
    description: 'Read models, tamper-evident ledger and evidence bundles for auditors. Every call needs `authorization: Bearer <token>` of a compliance-officer or security-engineering identity and is audited.',
  },
  security: [{ bearer: [] }],
  paths: {
    '/v1/keys': {
      get: {
        summary: 'Query keys',
        parameters: [
          q('purpose', 'ROOT_TENANT, SERVICE_ENVELOPE, DATA_PROTECTION or BREAK_GLASS'),
          q('state', 'Enabled or Disabled'),
          q('owner', 'owner identity'),
          q('label', 'key=value'),
          q('jurisdiction', "the key's jurisdiction (keys created before jurisdictions: their jurisdiction label, else default)"),
          q('overdue', 'true: rotation is overdue', { type: 'boolean' }),
          q('cursor', 'nextCursor of the previous page'),
          q('limit', '1..500, default 50', { type: 'integer' }),
        ],
        responses: { '200': json('{ items, nextCursor }'), ...errors },
      },
    },
    '/v1/keys/{keyId}/history': {
      get: { summary: "A key's versions and full state ledger", parameters: [{ name: 'keyId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }], responses: { '200': json('{ key, versions, stateLedger }'), '404': errors['400'], ...errors } },
    },
    '/v1/audit-records': {
      get: {
        summary: 'Audit records, normalised, with filters and cursor paging',
        parameters: [q('from', 'ISO-8601, inclusive'), q('to', 'ISO-8601, exclusive'), q('actor', 'identity id'), q('keyId', 'UUID'), q('operation', 'e.g. Encrypt'), q('outcome', 'SUCCESS, FAILURE or DENIED'), q('cursor', 'nextCursor'), q('limit', '1..500')],
        responses: { '200': json('{ items, nextCursor }'), ...errors },
      },
    },
    '/v1/approvals': { get: { summary: 'Approval requests (dual authorization), each with the compliance notifications delivered about it', parameters: [q('targetId', 'key or identity id'), q('status', 'Pending, Approved, Executed, ...'), q('limit', '1..500')], responses: { '200': json('{ items }'), ...errors } } },
    '/v1/escrow': {
      get: {
        summary: "Each break-glass key's escrow: current seal (custodians, counter-signatures), last drill, declarations still owed (docs/break-glass.md)",
        responses: { '200': json('{ items: [{ key_id, name, primary_version, current_seal, last_drill_at, pending_declarations, findings }] }'), ...errors },
      },
    },
    '/v1/drills': { get: { summary: 'Backup-restore drills: the last drill, whether the monthly drill is overdue, the open follow-ups, every drill', responses: { '200': json('{ lastDrill, monthlyDrillOverdue, nextDrillDue, openFollowUps, drills }'), ...errors } } },
    '/v1/controls': { get: { summary: 'Control matrix: each policy control with a computed status and evidence links', responses: { '200': json('{ generatedAt, controls }'), ...errors } } },
    '/v1/ledger/{log}/checkpoint': { get: { summary: 'Latest signed checkpoint (C2SP signed note)', parameters: [log], responses: { '200': { description: 'text/plain signed note' }, ...errors } } },
    '/v1/ledger/{log}/inclusion': {
      get: { summary: 'Inclusion proof of a record', parameters: [log, { ...q('recordId', 'event id or audit record id'), required: true }, q('treeSize', 'a checkpointed size; default latest', { type: 'integer' })], responses: { '200': json('{ leafIndex, treeSize, leafHash, path, checkpoint }'), ...errors } },
    },
    '/v1/ledger/{log}/consistency': {
      get: { summary: 'Consistency proof between two checkpoints', parameters: [log, { ...q('from', 'tree size', { type: 'integer' }), required: true }, { ...q('to', 'tree size', { type: 'integer' }), required: true }], responses: { '200': json('{ from, to, path }'), ...errors } },
    },
    '/v1/evidence/keys/{keyId}': {
      get: {
        summary: 'Evidence bundle of a key (ustar archive, docs/audit-and-evidence.md)',
        parameters: [{ name: 'keyId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }, q('from', 'audit window start'), q('to', 'audit window end')],
        responses: { '200': { description: 'application/x-tar' }, ...errors },
      },
    },
    '/v1/jurisdictions': { get: { summary: 'Keys grouped by jurisdiction (by protection level and status), with the HSM instances declared in each and their attestation bundle URL', responses: { '200': json('{ jurisdictions }'), ...errors } } },
    '/v1/evidence/hsms/{id}': {
      get: {
        summary: 'Attestation bundle of one HSM instance (PDF, or canonical JSON), signed by its attestation key; its SHA-256 is appended to the ledger (docs/jurisdictions.md)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, q('format', 'pdf (default) or json')],
        responses: { '200': { description: 'application/pdf or application/json; x-kms-bundle-sha256, x-kms-ledger-record-id (for /v1/ledger/events/inclusion)' }, ...errors },
      },
    },
    '/v1/legal-artifacts': {
      get: {
        summary: "Legal appendix per jurisdiction (DTIA, provider statements, emergency access plan...): every configured jurisdiction's artifacts, or one's (docs/jurisdictions.md)",
        parameters: [q('jurisdiction', 'a configured jurisdiction'), q('status', 'ACTIVE, SUPERSEDED or WITHDRAWN')],
        responses: { '200': json('{ jurisdictions: [{ jurisdiction, artifacts: [{ artifactId, kind, title, owner, retentionLocation, sha256, hashOrigin, url?, status, ledgerRecordId, inclusion_proof }] }] }'), ...errors },
      },
      post: {
        summary: 'Register a document referenced by https URL with the SHA-256 its registrant states (the KMS fetches nothing); audited RegisterLegalArtifact, its event anchored in the ledger',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['jurisdiction', 'kind', 'title', 'owner', 'retentionLocation', 'url', 'sha256'] } } } },
        responses: { '201': json('{ artifact, ledgerRecordId }'), ...errors },
      },
    },
    '/v1/legal-artifacts/uploads': {
      post: {
        summary: "Register an uploaded document (the body: its bytes, at most 10 MiB, content-type its media type); the SHA-256 is computed by the KMS, the bytes are not kept",
        parameters: [q('jurisdiction', 'a configured jurisdiction'), q('kind', 'DTIA, PROVIDER_STATEMENT, EMERGENCY_ACCESS_PLAN or OTHER'), q('title', 'what it is'), q('owner', 'who answers for it'), q('retentionLocation', 'where the document is kept'), q('fileName', 'optional'), q('mediaType', 'optional, instead of content-type'), q('supersedes', 'optional: an ACTIVE artifact it replaces')],
        responses: { '201': json('{ artifact, ledgerRecordId }'), ...errors },
      },
    },
    '/v1/legal-artifacts/{id}/withdrawal': {
      post: {
        summary: 'Withdraw an ACTIVE artifact with a reason (it stays listed, WITHDRAWN); audited WithdrawLegalArtifact',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['reason'] } } } },
        responses: { '200': json('{ artifact, ledgerRecordId }'), ...errors },
      },
    },
    '/v1/ledger/reconciliations': {
      post: {
        summary: 'Reconcile the source tables (events, audit_records) against the ledger now: seals, chains, gaps, positions, leaves, signed checkpoints',
        responses: { '200': json('{ startedAt, finishedAt, ok, checked, divergences: [{ source, position, recordId, streamId?, streamVersion?, problem }] }'), ...errors },
      },
    },
    '/v1/ledger/reconciliations/latest': { get: { summary: 'The last reconciliation report (scheduled or on demand)', responses: { '200': json('reconciliation report'), ...errors } } },
    '/v1/projections': { get: { summary: 'Projection positions and lag', responses: { '200': json('{ projections }'), ...errors } } },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    schemas: {
      Problem: {
        type: 'object',
        properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string' }, field: { type: 'string' }, requestId: { type: 'string' } },
      },
    },
  },
} as const;
