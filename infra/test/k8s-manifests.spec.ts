import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { SYSTEM_WORKLOADS } from '../../apps/key-service/src/provision/system-workloads.provision';
import { readManifests, validateManifest } from '../k8s/k8s-manifest.validator';

const BASE = join(__dirname, '..', 'k8s', 'base');

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }>;
  livenessProbe?: { httpGet?: { path: string; port: string } };
  readinessProbe?: { httpGet?: { path: string; port: string } };
  startupProbe?: { httpGet?: { path: string; port: string }; periodSeconds?: number; failureThreshold?: number };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  initContainers?: Container[];
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: {
    suspend?: boolean;
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
    jobTemplate?: { spec: { template: { spec: PodSpec } } };
    podSelector?: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: unknown[];
    egress?: unknown[];
  };
  data?: Record<string, string>;
}

const kustomization = load(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')) as { resources: string[]; images: Array<{ name: string }> };
const resources = kustomization.resources.flatMap((file) => readManifests(join(BASE, file)) as Resource[]);
const byKind = (kind: string): Resource[] => resources.filter((r) => r.kind === kind);
const podSpec = (r: Resource): PodSpec => (r.spec?.template?.spec ?? r.spec?.jobTemplate?.spec.template.spec) as PodSpec;
const allContainers = (r: Resource): Container[] => [...(podSpec(r).initContainers ?? []), ...podSpec(r).containers];

const deployment = (): Resource => structuredClone(byKind('Deployment').find((d) => d.metadata.name === 'kms-key-service') as Resource);

describe('Kubernetes manifests (infra/k8s/base)', () => {
  it('lists in kustomization.yaml exactly the manifest files of the base, each of which exists', () => {
    const files = readdirSync(BASE).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('validates every document against the official Kubernetes schemas (unknown fields refused)', () => {
    expect(resources.length).toBeGreaterThan(10);
    expect(resources.flatMap(validateManifest)).toEqual([]);
  });

  it('refuses a broken manifest: a wrong field type, a misspelled field, a missing required field, an unknown kind', () => {
    const wrongType = deployment();
    (wrongType.spec as Record<string, unknown>)['replicas'] = 'two';
    expect(validateManifest(wrongType)).toEqual([{ resource: 'apps/v1/Deployment kms-key-service', path: '/spec/replicas', message: 'must be integer' }]);

    const misspelled = deployment();
    const c = podSpec(misspelled).containers[0] as unknown as Record<string, unknown>;
    c['readinesProbe'] = c['readinessProbe'];
    delete c['readinessProbe'];
    expect(validateManifest(misspelled)).toEqual([
      { resource: 'apps/v1/Deployment kms-key-service', path: '/spec/template/spec/containers/0', message: 'unknown field "readinesProbe"' },
    ]);

    const noName = deployment();
    delete (podSpec(noName).containers[0] as unknown as Record<string, unknown>)['name'];
    expect(validateManifest(noName)).toEqual([expect.objectContaining({ path: '/spec/template/spec/containers/0', message: "must have required property 'name'" })]);

    const badPort = deployment();
    (podSpec(badPort).containers[0] as unknown as { ports: Array<Record<string, unknown>> }).ports[0]['containerPort'] = '8080';
    expect(validateManifest(badPort)).toEqual([expect.objectContaining({ path: '/spec/template/spec/containers/0/ports/0/containerPort', message: 'must be integer' })]);

    expect(validateManifest({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } })[0].message).toMatch(/^no schema for apps\/v1\/Deploymnet/);
  });

  it('runs the four services with probes on /healthz and /readyz, resources and a non-root, read-only container', () => {
    expect(byKind('Deployment').map((d) => d.metadata.name).sort()).toEqual(['kms-anomaly-detector', 'kms-audit-projector', 'kms-key-service', 'kms-rotation-scheduler']);
    for (const d of byKind('Deployment')) {
      expect(podSpec(d).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      for (const c of podSpec(d).containers) {
        expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
      }
    }
    // The key service answers HTTP once its key catalog caught up, which at the first start after an
    // upgrade means building the key read model (minutes on a large store): the startup probe waits 30.
    const probe = podSpec(deployment()).containers[0]?.startupProbe;
    expect(probe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect((probe?.periodSeconds ?? 10) * (probe?.failureThreshold ?? 3)).toBeGreaterThanOrEqual(1800);
    for (const r of [...byKind('Deployment'), ...byKind('Job'), ...byKind('CronJob')]) {
      for (const c of allContainers(r)) {
        expect([r.metadata.name, c.name, Object.keys(c.resources?.requests ?? {}).sort(), Object.keys(c.resources?.limits ?? {}).sort()]).toEqual([r.metadata.name, c.name, ['cpu', 'memory'], ['cpu', 'memory']]);
        expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      }
      expect(podSpec(r).securityContext?.runAsNonRoot).toBe(true);
    }
  });

  it('references the documented Secrets, commits none, and reads the credential keys the provision step writes', () => {
    expect(byKind('Secret')).toEqual([]);
    const refs = new Set(resources.flatMap((r) => (r.spec?.template || r.spec?.jobTemplate ? allContainers(r) : [])).flatMap((c) => (c.env ?? []).map((e) => e.valueFrom?.secretKeyRef).filter(Boolean).map((s) => `${s?.name}/${s?.key}`)));
    expect([...refs].sort()).toEqual(
      [
        'kms-database/url',
        'kms-database/migration-url',
        'kms-master-key/master.key',
        'kms-hsm/user-pin',
        'kms-backup-workload/client-id',
        'kms-backup-workload/client-secret',
        'kms-backup-workload/backup-key-id',
        ...SYSTEM_WORKLOADS.flatMap((w) => [`kms-workload-credentials/${w.envPrefix}_CLIENT_ID`, `kms-workload-credentials/${w.envPrefix}_CLIENT_SECRET`]),
      ].sort(),
    );
    // The provision Job publishes the env file the provision step writes, under the name the Deployments read.
    const job = byKind('Job').find((j) => j.metadata.name === 'kms-provision') as Resource;
    const [provision, , publish] = podSpec(job).initContainers ?? [];
    expect(provision.command).toEqual(['node', '--import', 'tsx', 'apps/key-service/src/provision.ts']);
    const envFile = provision.env?.find((e) => e.name === 'KMS_PROVISION_ENV_FILE')?.value;
    expect(publish.args).toEqual(['create', 'secret', 'generic', 'kms-workload-credentials', `--from-env-file=${envFile}`]);
  });

  it('connects every KMS container as the service role; only the provision Job migrates as the owner, from the second key of kms-database', () => {
    const config = byKind('ConfigMap').find((c) => c.metadata.name === 'kms-config') as Resource;
    expect(config.data?.['KMS_DATABASE_SERVICE_ROLE']).toBe('kms_service');
    const kms = resources.flatMap((r) => (r.kind === 'Deployment' || r.kind === 'Job' ? allContainers(r).map((c) => [r.metadata.name, c] as const) : []));
    const withDatabase = kms.filter(([, c]) => c.env?.some((e) => e.name === 'KMS_DATABASE_URL'));
    expect(withDatabase.map(([name]) => name).sort()).toEqual(['kms-anomaly-detector', 'kms-audit-projector', 'kms-key-service', 'kms-provision', 'kms-rotation-scheduler']);
    for (const [name, c] of withDatabase) {
      const key = (variable: string): string | undefined => c.env?.find((e) => e.name === variable)?.valueFrom?.secretKeyRef?.key;
      expect([name, key('KMS_DATABASE_URL'), key('KMS_MIGRATION_DATABASE_URL')]).toEqual([name, 'url', name === 'kms-provision' ? 'migration-url' : undefined]);
    }
    // The owner's URL reaches no long-running pod, under any variable name (the nightly backup's
    // pg_dump reads every table as the owner, the daily audit maintenance creates and drops
    // partitions; neither runs a KMS service).
    const ownerReaders = resources.flatMap((r) =>
      r.spec?.template || r.spec?.jobTemplate
        ? allContainers(r)
            .filter((c) => (c.env ?? []).some((e) => e.valueFrom?.secretKeyRef?.name === 'kms-database' && e.valueFrom.secretKeyRef.key === 'migration-url'))
            .map((c) => `${r.kind}/${r.metadata.name}/${c.name}`)
        : [],
    );
    expect(ownerReaders.sort()).toEqual(['CronJob/kms-audit-maintenance/maintenance', 'CronJob/kms-backup/backup', 'Job/kms-provision/provision']);
  });

  it('keeps one key service up through disruptions, denies traffic by default, and runs the nightly backup', () => {
    const [pdb] = byKind('PodDisruptionBudget');
    const keyService = byKind('Deployment').find((d) => d.metadata.name === 'kms-key-service') as Resource;
    expect(pdb.spec?.selector?.matchLabels).toEqual(keyService.spec?.selector?.matchLabels);
    expect((keyService.spec as { replicas: number }).replicas).toBeGreaterThan(1);
    const deny = byKind('NetworkPolicy').find((p) => p.metadata.name === 'kms-default-deny') as Resource;
    expect(deny.spec).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'open-kms' } }, policyTypes: ['Ingress', 'Egress'] });
    for (const r of [...byKind('Deployment'), ...byKind('Job'), ...byKind('CronJob')]) expect(r.metadata.labels?.['app.kubernetes.io/part-of']).toBe('open-kms');
    const backup = byKind('CronJob').find((c) => c.metadata.name === 'kms-backup') as Resource;
    expect(backup.spec).toMatchObject({ suspend: false, schedule: '30 2 * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid' });
    // Nightly to two targets, each a claim of the base (the off-site one bound to off-site storage in an overlay).
    const [container] = podSpec(backup).containers;
    expect(container.command).toEqual(['bash', 'scripts/backup.sh', '--target', '/backups/local', '--target', '/backups/offsite']);
    const spec = podSpec(backup) as PodSpec & { volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }> };
    const mounts = (container as Container & { volumeMounts: Array<{ name: string; mountPath: string }> }).volumeMounts;
    const claimAt = (path: string) => spec.volumes.find((v) => v.name === mounts.find((m) => m.mountPath === path)?.name)?.persistentVolumeClaim?.claimName;
    expect([claimAt('/backups/local'), claimAt('/backups/offsite')]).toEqual(['kms-backups', 'kms-backups-offsite']);
    expect(byKind('PersistentVolumeClaim').map((c) => c.metadata.name).sort()).toEqual(['kms-audit-archives', 'kms-backups', 'kms-backups-offsite']);
    // What scripts/backup.ts reads: the workload's credentials (exchanged for a token), the key's id, the key service.
    expect((container.env ?? []).map((e) => e.name)).toEqual(
      expect.arrayContaining(['KMS_DATABASE_URL', 'KMS_MASTER_KEY', 'KMS_ADDRESS', 'KMS_BACKUP_CLIENT_ID', 'KMS_BACKUP_CLIENT_SECRET', 'KMS_BACKUP_KEY_ID']),
    );
    // The network lets the backup reach the key service's gRPC port, both ways.
    const egress = byKind('NetworkPolicy').find((p) => p.metadata.name === 'kms-workloads-egress-to-key-service') as Resource & { spec: { podSelector: { matchExpressions: Array<{ values: string[] }> } } };
    expect(egress.spec.podSelector.matchExpressions[0].values).toContain('kms-backup');
    const ingress = byKind('NetworkPolicy').find((p) => p.metadata.name === 'kms-key-service-ingress') as Resource;
    expect(JSON.stringify(ingress.spec?.ingress)).toContain('"app.kubernetes.io/name":"kms-backup"');
  });

  it('runs the audit trail upkeep daily as the owner, archiving onto its own claim before any drop', () => {
    const maintenance = byKind('CronJob').find((c) => c.metadata.name === 'kms-audit-maintenance') as Resource;
    expect(maintenance.spec).toMatchObject({ suspend: false, schedule: '30 3 * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid' });
    const spec = podSpec(maintenance) as PodSpec & { volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }> };
    const [container] = spec.containers;
    expect(container.command).toEqual(['node', '--import', 'tsx', 'apps/key-service/src/audit-maintenance.ts']);
    const env = container.env ?? [];
    const secretKey = (variable: string) => env.find((e) => e.name === variable)?.valueFrom?.secretKeyRef;
    // maintainAuditTrail connects with KMS_MIGRATION_DATABASE_URL (the owner), else KMS_DATABASE_URL: both the owner here.
    expect([secretKey('KMS_DATABASE_URL'), secretKey('KMS_MIGRATION_DATABASE_URL')]).toEqual([
      { name: 'kms-database', key: 'migration-url' },
      { name: 'kms-database', key: 'migration-url' },
    ]);
    expect(secretKey('KMS_MASTER_KEY')).toEqual({ name: 'kms-master-key', key: 'master.key' });
    // The archive directory is the claim, not the container's (read-only) filesystem.
    const archiveDir = env.find((e) => e.name === 'KMS_AUDIT_ARCHIVE_DIR')?.value;
    const mounts = (container as Container & { volumeMounts: Array<{ name: string; mountPath: string }> }).volumeMounts;
    const mount = mounts.find((m) => m.mountPath === archiveDir);
    expect(spec.volumes.find((v) => v.name === mount?.name)?.persistentVolumeClaim?.claimName).toBe('kms-audit-archives');
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  it('names every image it uses in the kustomization, so an overlay can pin them', () => {
    const images = new Set(resources.filter((r) => r.spec?.template || r.spec?.jobTemplate).flatMap((r) => allContainers(r).map((c) => c.image)));
    expect([...images].sort()).toEqual(kustomization.images.map((i) => i.name).sort());
  });
});
