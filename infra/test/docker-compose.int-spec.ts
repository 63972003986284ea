import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

// The engine does not run on the build machine, but `config` is client-side: it parses, merges the
// anchors and validates the file against the Compose schema.
describe('docker-compose.yml', () => {
  it('is a valid Compose file describing the production-like stack', async () => {
    const { stdout } = await run('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], {
      cwd: root,
      env: { ...process.env, KMS_POSTGRES_PASSWORD: 'test-only' },
    });
    for (const service of ['eventstoredb', 'kafka', 'redis', 'postgres', 'key-service', 'rotation-scheduler', 'audit-projector', 'anomaly-detector']) {
      expect(stdout).toMatch(new RegExp(`^  ${service}:$`, 'm'));
    }
    expect(stdout).toContain('KMS_EVENT_STORE: eventstoredb');
    expect(stdout).toContain('KMS_MASTER_KEY_FILE: /run/secrets/kms_master_key');
  });
});
