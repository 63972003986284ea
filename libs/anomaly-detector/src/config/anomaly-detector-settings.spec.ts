import { ConfigError } from '@kms/config';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testConfig } from '@kms/config/testing';
import { anomalyDetectorSettings } from './anomaly-detector.config';

// The variables are parsed by the one configuration (libs/config); the credential file is read here.
const loadAnomalyDetectorSettings = (env: NodeJS.ProcessEnv, defaultKmsAddress: string) => anomalyDetectorSettings(testConfig(env).anomalyDetector, defaultKmsAddress);

// The provision step hands the detector its credential as a file (compose secrets volume); the
// variables stay for environments that inject secrets as environment (Kubernetes secretKeyRef).
describe('anomaly detector credential settings', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ops-anomaly-cred-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const credentialFile = (body: string, mode = 0o600): string => {
    const file = join(dir, 'anomaly-detector.json');
    writeFileSync(file, body);
    chmodSync(file, mode);
    return file;
  };

  const error = (env: NodeJS.ProcessEnv): ConfigError => {
    try {
      loadAnomalyDetectorSettings(env, 'key-service:50051');
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('expected a ConfigError');
  };

  it('reads the client id and secret from KMS_ANOMALY_CREDENTIAL_FILE', () => {
    const file = credentialFile(JSON.stringify({ client_id: 'id-1', client_secret: 's3cret', name: 'kms-anomaly-detector' }));
    const settings = loadAnomalyDetectorSettings({ KMS_ANOMALY_CREDENTIAL_FILE: file, KMS_ANOMALY_KMS_ADDRESS: 'key-service:50051' }, '0.0.0.0:50051');
    expect(settings).toMatchObject({ clientId: 'id-1', clientSecret: 's3cret', kmsAddress: 'key-service:50051' });
  });

  it('refuses a credential file that group or others can read', () => {
    const file = credentialFile(JSON.stringify({ client_id: 'id-1', client_secret: 's3cret' }), 0o640);
    expect(error({ KMS_ANOMALY_CREDENTIAL_FILE: file })).toMatchObject({ variable: 'KMS_ANOMALY_CREDENTIAL_FILE', message: expect.stringContaining('chmod 600') });
  });

  it('refuses a file without both strings, and a file given together with the variables', () => {
    expect(error({ KMS_ANOMALY_CREDENTIAL_FILE: credentialFile('{"client_id":"id-1"}') }).message).toContain('"client_id" and "client_secret"');
    expect(error({ KMS_ANOMALY_CREDENTIAL_FILE: credentialFile('not json') }).message).toContain('is not JSON');
    expect(error({ KMS_ANOMALY_CREDENTIAL_FILE: join(dir, 'missing.json') }).message).toContain('cannot read');
    const file = credentialFile(JSON.stringify({ client_id: 'id-1', client_secret: 's3cret' }));
    expect(error({ KMS_ANOMALY_CREDENTIAL_FILE: file, KMS_ANOMALY_CLIENT_ID: 'x', KMS_ANOMALY_CLIENT_SECRET: 'y' }).message).toContain('not both');
  });

  it('still takes the id and secret from the environment, and nothing at all (record-only)', () => {
    expect(loadAnomalyDetectorSettings({ KMS_ANOMALY_CLIENT_ID: 'a', KMS_ANOMALY_CLIENT_SECRET: 'b' }, 'x:1')).toMatchObject({ clientId: 'a', clientSecret: 'b' });
    expect(loadAnomalyDetectorSettings({}, 'x:1')).toMatchObject({ clientId: null, clientSecret: null });
  });
});
