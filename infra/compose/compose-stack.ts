// The compose file as the client renders it (`docker-compose config`: anchors merged, ${…} substituted,
// schema-checked), and how to run its KMS services as local processes with the same environment.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { load } from 'js-yaml';

const run = promisify(execFile);

/** The parts of a rendered Compose service this tooling reads. */
export interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  /** Rendered short syntax: `volume:/target[:ro]`. */
  volumes?: string[];
  secrets?: Array<{ source: string; target?: string }>;
  depends_on?: Record<string, { condition: 'service_started' | 'service_healthy' | 'service_completed_successfully' }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file: string }>;
  volumes?: Record<string, unknown>;
}

/** The compose client on this machine: Compose v2 as a docker plugin, else the standalone docker-compose. */
export async function composeCommand(): Promise<string[]> {
  try {
    await run('docker', ['compose', 'version']);
    return ['docker', 'compose'];
  } catch {
    await run('docker-compose', ['version']);
    return ['docker-compose'];
  }
}

/**
 * `<compose> -f file config`: validates the file against the Compose schema and prints it resolved.
 * Needs no engine. Rejects with the client's message when the file is invalid.
 */
export async function renderCompose(file: string, env: Record<string, string> = {}): Promise<ComposeFile> {
  const [cmd, ...pre] = await composeCommand();
  const { stdout } = await run(cmd, [...pre, '-f', file, 'config'], { cwd: resolve(file, '..'), env: { ...process.env, ...env } });
  return load(stdout) as ComposeFile;
}

/** Service names in start order: every service after the ones it depends on (compose's own rule). */
export function startOrder(doc: ComposeFile, services: string[]): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): void => {
    if (order.includes(name)) return;
    if (visiting.has(name)) throw new Error(`depends_on cycle through ${name}`);
    visiting.add(name);
    for (const dep of Object.keys(doc.services[name]?.depends_on ?? {})) if (services.includes(dep)) visit(dep);
    visiting.delete(name);
    order.push(name);
  };
  for (const s of services) visit(s);
  return order;
}

/** What a local run changes so the processes share one machine (each mapping named, nothing else touched). */
export interface LocalMapping {
  /** Compose service name -> host:port on this machine, for infrastructure the machine provides (postgres, redis, kafka). */
  infrastructure: Record<string, string>;
  /** KMS service -> its local gRPC and HTTP ports (every container listens on 50051/8080). */
  ports: Record<string, { grpc: number; http: number }>;
  /** Named volume or secret -> host path (a folder for volumes, a file for secrets). */
  mounts: Record<string, string>;
  /** Container working directory (the image's WORKDIR) -> host folder. */
  workdir: { container: string; host: string };
  /** Variables whose value a local run must replace (test isolation), e.g. the database URL. */
  overrides?: Record<string, string>;
  /** Variables added to every service (e.g. a private queue name on a shared Redis). */
  additions?: Record<string, string>;
}

/** One KMS service as a local process. */
export interface LocalProcessPlan {
  service: string;
  /** argv; argv[0] "node" is the image's Node, run here as process.execPath. */
  command: string[];
  env: Record<string, string>;
  /** http://127.0.0.1:<port> when the service has a healthcheck; compose probes /readyz there. */
  httpUrl?: string;
  /** What dependants wait for, as compose would: exit 0 for one-shot steps, else /readyz. */
  ready: 'completed' | 'healthy';
}

/** Container path -> host path for each volume and secret the service mounts. */
function mountTable(doc: ComposeFile, service: ComposeService, mapping: LocalMapping): Array<[string, string]> {
  const table: Array<[string, string]> = [];
  for (const v of service.volumes ?? []) {
    const [source, target] = v.split(':');
    const host = mapping.mounts[source];
    if (!host) throw new Error(`no local folder for volume ${source}`);
    table.push([target, host]);
  }
  for (const s of service.secrets ?? []) {
    const host = mapping.mounts[s.source];
    if (!host) throw new Error(`no local file for secret ${s.source}`);
    if (!doc.secrets?.[s.source]) throw new Error(`secret ${s.source} is not declared`);
    table.push([s.target && s.target.startsWith('/') ? s.target : `/run/secrets/${s.target ?? s.source}`, host]);
  }
  // Longest prefix first, so a mount inside the working directory wins over the working directory.
  table.push([mapping.workdir.container, mapping.workdir.host]);
  return table.sort((a, b) => b[0].length - a[0].length);
}

/**
 * Rewrite one value as the container would see it on this machine: a mounted path becomes its host
 * path, `<service>:<port>` becomes the local address of that service, and a listen address on
 * 0.0.0.0 becomes this service's own local port.
 */
function localValue(value: string, own: { grpc: number; http: number } | undefined, mounts: Array<[string, string]>, mapping: LocalMapping): string {
  for (const [container, host] of mounts) {
    if (value === container || value.startsWith(`${container}/`)) return host + value.slice(container.length);
  }
  let out = value;
  if (own) out = out.replace(/^0\.0\.0\.0:50051$/, `127.0.0.1:${own.grpc}`).replace(/^0\.0\.0\.0:8080$/, `127.0.0.1:${own.http}`);
  return out.replace(/(?<![\w.-])([a-z][a-z0-9-]*):(\d{1,5})(?![\d])/g, (whole: string, host: string, port: string) => {
    if (mapping.infrastructure[host]) return mapping.infrastructure[host];
    const svc = mapping.ports[host];
    if (svc) return port === '8080' ? `127.0.0.1:${svc.http}` : `127.0.0.1:${svc.grpc}`;
    return whole;
  });
}

/** The local processes for `services` (KMS services of the rendered file), in start order. */
export function planLocalProcesses(doc: ComposeFile, services: string[], mapping: LocalMapping): LocalProcessPlan[] {
  return startOrder(doc, services).map((name) => {
    const service = doc.services[name];
    if (!service?.command) throw new Error(`service ${name} has no command`);
    const own = mapping.ports[name];
    const mounts = mountTable(doc, service, mapping);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(service.environment ?? {})) env[k] = mapping.overrides?.[k] ?? localValue(String(v), own, mounts, mapping);
    Object.assign(env, mapping.additions ?? {});
    const oneShot = service.restart === 'no' || service.healthcheck?.disable === true;
    return {
      service: name,
      command: service.command,
      env,
      ...(own && !oneShot ? { httpUrl: `http://127.0.0.1:${own.http}` } : {}),
      ready: oneShot ? 'completed' : 'healthy',
    };
  });
}
