import { randomBytes } from 'node:crypto';
import { type AttestationSigner, systemClock } from '@kms/application';
import { AuditProjectorModule, type AuditProjectorDependencies, complianceIdentity } from '@kms/audit-projector';
import { type KmsConfig, loadConfig } from '@kms/config';
import { createKmsClient, type KmsClient } from '@kms/contracts';
import type { BootstrapEnrolment } from '@kms/key-service-grpc';
import { type RunningKeyService, startKeyService } from '@kms/key-service-app';
import { dropSchema, PostgresAuditFeed, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { createHttpApp, type HttpApp } from '@kms/platform';
import { ConsoleCeremonies, type ConsolePeople, consolePeople, freePort, realCeremonyClock } from '@kms/testing';

/** A key service on a schema of its own, its bootstrap administrator, and an audit projector over HTTP following it. */
export interface ProjectorStack {
  config: KmsConfig;
  /** The key service's schema and the projector's read-model schema. */
  schema: string;
  readModels: string;
  service: RunningKeyService;
  projector: HttpApp;
  client: KmsClient;
  bootstrap: BootstrapEnrolment;
  /** People sign in with their security key and TOTP (real time: the service runs on the system clock). */
  people: ConsolePeople;
  /** Stop both, drop both schemas. */
  close(): Promise<void>;
}

export interface ProjectorStackOptions {
  /** Prefix of the key service's schema; the read models take `<schema>_rm`. */
  schemaPrefix: string;
  /** The ledger's origin line (checkpoint notes). */
  origin: string;
  /** Settings beyond database, master key and addresses (an HSM, say). */
  env?: Record<string, string>;
  /** Signs checkpoints, manifests and origin statements: given, or from the service (its HSM attestation key). */
  signer: AttestationSigner | ((service: RunningKeyService) => AttestationSigner);
  /** Options of consolePeople (e.g. `linkFor`, when people take two people to register). */
  people?: Parameters<typeof consolePeople>[2];
  /** Further projector dependencies (the ledger reconciliation, say), given the running service. */
  projectorDeps?: (service: RunningKeyService) => Partial<AuditProjectorDependencies>;
}

/**
 * Start the stack the audit projector's end-to-end specs share: the key service on a fresh schema with
 * a fresh master key, the bootstrap administrator taken in hand, and the projector (sealed history,
 * the audit feed, compliance identities) polling every 50 ms with no timed checkpoints.
 */
export async function startProjectorStack(options: ProjectorStackOptions): Promise<ProjectorStack> {
  const url = testDatabaseUrl();
  const schema = uniqueTestSchema(options.schemaPrefix);
  const readModels = `${schema}_rm`.slice(0, 63);
  const httpPort = await freePort();
  const config = loadConfig({
    KMS_DATABASE_URL: url,
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_GRPC_ADDRESS: `127.0.0.1:${await freePort()}`,
    KMS_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    ...options.env,
  });
  let bootstrap: BootstrapEnrolment | undefined;
  const service = await startKeyService(config, { logger: false, onBootstrapEnrolment: (c) => void (bootstrap = c) });
  let client: KmsClient | undefined;
  let projector: HttpApp | undefined;
  const close = async (): Promise<void> => {
    await projector?.app.close();
    client?.close();
    await service.close();
    await dropSchema({ url, schema });
    await dropSchema({ url, schema: readModels });
  };
  try {
    if (!bootstrap) throw new Error('no bootstrap administrator');
    const people = consolePeople(new ConsoleCeremonies({ httpUrl: service.httpUrl, origin: `http://localhost:${httpPort}`, clock: realCeremonyClock }), bootstrap, options.people);
    client = createKmsClient(service.grpcAddress);
    const { deps, pool, auditSealer, sealedHistory } = service.runtime;
    if (!sealedHistory) throw new Error('the PostgreSQL event store should seal its history');
    projector = await createHttpApp(
      AuditProjectorModule.forRoot(config, {
        eventStore: deps.store,
        seals: sealedHistory,
        auditFeed: new PostgresAuditFeed(pool, auditSealer),
        auditLog: service.runtime.audit,
        signer: typeof options.signer === 'function' ? options.signer(service) : options.signer,
        identity: complianceIdentity(deps.store, deps.secrets, systemClock),
        ...options.projectorDeps?.(service),
        settings: { readModelSchema: readModels, origin: options.origin, runner: { pollIntervalMs: 50, checkpointIntervalMs: 0 } },
      }),
      { host: '127.0.0.1', port: 0 },
      { logger: false },
    );
    return { config, schema, readModels, service, projector, client, bootstrap, people, close };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}
