import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type AccessSecrets, AuditedExecutor, type AuditLog, CallScopedEventStore, type ChangeCommitter, type Clock, followStore, IdentityService } from '@kms/application';
import type { EventStore } from '@kms/event-store';
import { KmsError, type ServiceRole } from '@kms/domain';

/** A client credential of one of the KMS's own workloads. */
export interface SystemCredential {
  clientId: string;
  clientSecret: string;
  name: string;
}

/**
 * The credential of a KMS workload (rotation scheduler, anomaly detector) kept in a 0600 file of
 * the state folder: created with its service role on first start; if the file was lost, the
 * credential is rotated (old tokens die) and written again. The secret exists only in that file.
 */
export async function ensureSystemCredential(
  identities: IdentityService,
  spec: { name: string; role: ServiceRole; file: string },
  executor: AuditedExecutor,
): Promise<SystemCredential> {
  try {
    const saved = JSON.parse(await readFile(spec.file, 'utf8')) as { client_id: string; client_secret: string };
    const state = await identities.get(saved.client_id);
    if (state.identity.name === spec.name) return { clientId: saved.client_id, clientSecret: saved.client_secret, name: spec.name };
  } catch {
    // Missing, unreadable or stale file: fall through and (re)issue.
  }
  const ctx = { actor: 'system:bootstrap', correlationId: randomUUID(), reason: `credential for the ${spec.name} workload` };
  const call = { actor: ctx.actor, requestId: ctx.correlationId };
  let credential: SystemCredential;
  try {
    // Audited like any registration: the identity's events commit with their audit record.
    const { identity, clientSecret } = await executor.runChange(call, 'RegisterIdentity', (facts) => {
      facts.details = { name: spec.name, kind: 'WORKLOAD', roles: spec.role };
      return identities.register({ name: spec.name, kind: 'WORKLOAD', roles: [spec.role] }, ctx);
    });
    credential = { clientId: identity.identityId, clientSecret, name: spec.name };
  } catch (e) {
    if (!(e instanceof KmsError && e.code === 'IDENTITY_ALREADY_EXISTS')) throw e;
    const existing = identities.list().find((s) => s.identity.name === spec.name);
    if (!existing) throw e;
    const id = existing.identity.identityId;
    const { clientSecret } = await executor.runChange({ ...call, requestId: randomUUID() }, 'RotateCredential', (facts) => {
      facts.details = { identityId: id };
      return identities.rotateCredential(id, ctx);
    });
    credential = { clientId: id, clientSecret, name: spec.name };
  }
  await mkdir(dirname(spec.file), { recursive: true, mode: 0o700 });
  await writeFile(spec.file, `${JSON.stringify({ client_id: credential.clientId, client_secret: credential.clientSecret, name: spec.name }, null, 2)}\n`, {
    mode: 0o600,
  });
  return credential;
}

/**
 * Credentials for the KMS's own workloads before the service boots (standalone mode): a short-lived
 * identity view is brought up to date from the store, then each credential is ensured.
 */
export async function ensureSystemCredentials(
  runtime: { deps: { store: EventStore; secrets: AccessSecrets; clock: Clock; audit: AuditLog; changes: { committer: ChangeCommitter } } },
  specs: Array<{ name: string; role: ServiceRole; file: string }>,
): Promise<SystemCredential[]> {
  const { store, secrets, clock, audit, changes } = runtime.deps;
  const identities = new IdentityService(new CallScopedEventStore(store), secrets, clock);
  const executor = new AuditedExecutor(audit, clock, { store, committer: changes.committer });
  const feed = await followStore(store, [identities.cache]);
  try {
    const out: SystemCredential[] = [];
    for (const spec of specs) out.push(await ensureSystemCredential(identities, spec, executor));
    return out;
  } finally {
    await feed.stop();
  }
}
