// `npm start` as an operator runs it: the whole KMS behind npm, stopped with `kill -TERM <npm pid>`.
// Before the fix npm's shell child died on the signal and left the KMS orphaned with its ports taken.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSchema } from '@kms/persistence-postgres';
import { descendantPids, freePort, isRunning, portIsFree, REPO_ROOT, waitForHttpOk } from '@kms/testing';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/kms';
const SCHEMA = `ops_npm_start_${process.pid}`;

describe('npm start', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'ops-npm-start-'));
  const started: number[] = [];

  afterAll(async () => {
    // Only what this test started, by pid, if anything survived a failed assertion.
    for (const pid of started) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    await dropSchema({ url: DATABASE_URL, schema: SCHEMA });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs the audit upkeep on its own, and stops the KMS with the SIGTERM sent to the npm process: clean shutdown, ports free, no child left', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    const npm = spawn('npm', ['start'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        KMS_GRPC_ADDRESS: `127.0.0.1:${ports.grpc}`,
        KMS_HTTP_ADDRESS: `127.0.0.1:${ports.http}`,
        // KMIP starts in standalone mode: on a port the OS picks, never 5696.
        KMS_KMIP_ADDRESS: '127.0.0.1:0',
        KMS_DATABASE_URL: DATABASE_URL,
        KMS_DATABASE_SCHEMA: SCHEMA,
        KMS_STATE_DIR: stateDir,
        KMS_BOOTSTRAP_CREDENTIAL_FILE: join(stateDir, 'bootstrap-admin.json'),
        // The audit upkeep standalone mode runs itself: every 2 s here, so one run happens before the signal.
        KMS_AUDIT_MAINTENANCE_SECONDS: '2',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const npmPid = npm.pid as number;
    started.push(npmPid);
    let output = '';
    npm.stdout.on('data', (c: Buffer) => (output += c.toString()));
    npm.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => npm.once('exit', (code, signal) => r({ code, signal })));

    const ready = await waitForHttpOk(`http://127.0.0.1:${ports.http}/readyz`, 120_000, () => npm.exitCode === null);
    if (ready !== 200) throw new Error(`npm start did not become ready (last status ${ready}):\n${output}`);
    const children = descendantPids(npmPid);
    started.push(...children);
    // npm runs the script through a shell; `exec` chains make the KMS npm's only child process.
    expect(children.length).toBeGreaterThan(0);
    // Standalone mode ran the audit trail's upkeep on its own (no cron), as the owner, without failing.
    const deadline = Date.now() + 30_000;
    while (!output.includes('audit maintenance: audit partitions present') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(output).toContain('audit maintenance: audit partitions present: audit_records_p');
    expect(output).not.toContain('audit maintenance failed');

    process.kill(npmPid, 'SIGTERM');
    const timer = setTimeout(() => npm.kill('SIGKILL'), 60_000);
    const exit = await exited;
    clearTimeout(timer);

    // The KMS itself got the signal and shut down in order (not killed by a timeout or orphaned).
    expect(output).toContain('SIGTERM received, shutting down');
    // npm re-raises the child's signal on itself, so it ends by SIGTERM rather than by our SIGKILL.
    expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true);
    expect(children.filter(isRunning)).toEqual([]);
    expect(await portIsFree(ports.grpc)).toBe(true);
    expect(await portIsFree(ports.http)).toBe(true);
  }, 240_000);
});
