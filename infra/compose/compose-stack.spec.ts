import { type ComposeFile, type LocalMapping, planLocalProcesses, startOrder } from './compose-stack';

// A rendered file (as `docker-compose config` prints it) with the shapes the real one uses.
const doc: ComposeFile = {
  secrets: { kms_master_key: { file: '/repo/infra/secrets/master.key' } },
  volumes: { creds: {}, state: {} },
  services: {
    postgres: {},
    init: { command: ['node', 'provision.ts'], restart: 'no', healthcheck: { disable: true }, environment: { DIR: '/run/creds' }, volumes: ['creds:/run/creds:rw'], depends_on: { postgres: { condition: 'service_healthy' } } },
    api: {
      command: ['node', 'api.ts'],
      environment: { LISTEN: '0.0.0.0:50051', HTTP: '0.0.0.0:8080', DB: 'postgres://kms:pw@postgres:5432/kms', STATE: '/app/.state/x.json', KEY: '/run/secrets/kms_master_key' },
      secrets: [{ source: 'kms_master_key' }],
      volumes: ['state:/app/.state'],
      depends_on: { init: { condition: 'service_completed_successfully' } },
    },
    worker: {
      command: ['node', 'worker.ts'],
      environment: { TARGET: 'api:50051', PROBE: 'http://api:8080/readyz', CRED: '/run/creds/worker.json', BROKERS: 'kafka:9092,other-host:9092', NAME: 'not-a-host:x' },
      volumes: ['creds:/run/creds:ro'],
      depends_on: { api: { condition: 'service_healthy' }, init: { condition: 'service_completed_successfully' } },
    },
  },
};
const mapping: LocalMapping = {
  infrastructure: { postgres: '127.0.0.1:5432', kafka: '127.0.0.1:19092' },
  ports: { init: { grpc: 1001, http: 1002 }, api: { grpc: 2001, http: 2002 }, worker: { grpc: 3001, http: 3002 } },
  mounts: { creds: '/tmp/x/creds', state: '/tmp/x/state', kms_master_key: '/tmp/x/master.key' },
  workdir: { container: '/app', host: '/repo' },
};

describe('compose stack as local processes', () => {
  it('starts services after what they depend on', () => {
    expect(startOrder(doc, ['worker', 'api', 'init'])).toEqual(['init', 'api', 'worker']);
  });

  it('maps service names, listen addresses, volumes and secrets to this machine, and nothing else', () => {
    const [init, api, worker] = planLocalProcesses(doc, ['worker', 'api', 'init'], mapping);
    expect(init).toMatchObject({ service: 'init', ready: 'completed', env: { DIR: '/tmp/x/creds' } });
    expect(init.httpUrl).toBeUndefined();
    expect(api).toMatchObject({
      ready: 'healthy',
      httpUrl: 'http://127.0.0.1:2002',
      env: { LISTEN: '127.0.0.1:2001', HTTP: '127.0.0.1:2002', DB: 'postgres://kms:pw@127.0.0.1:5432/kms', STATE: '/tmp/x/state/x.json', KEY: '/tmp/x/master.key' },
    });
    expect(worker.env).toEqual({
      TARGET: '127.0.0.1:2001',
      PROBE: 'http://127.0.0.1:2002/readyz',
      CRED: '/tmp/x/creds/worker.json',
      // An unknown host is left as written: the smoke would then fail to reach it, visibly.
      BROKERS: '127.0.0.1:19092,other-host:9092',
      NAME: 'not-a-host:x',
    });
  });

  it('applies the named overrides and additions', () => {
    const [, api] = planLocalProcesses(doc, ['api', 'init'], { ...mapping, overrides: { DB: 'postgres://postgres@127.0.0.1:5432/ops' }, additions: { EXTRA: '1' } });
    expect(api.env).toMatchObject({ DB: 'postgres://postgres@127.0.0.1:5432/ops', EXTRA: '1' });
  });

  it('refuses a volume it has no local folder for, rather than pointing a service at a container path', () => {
    expect(() => planLocalProcesses(doc, ['init'], { ...mapping, mounts: {} })).toThrow('no local folder for volume creds');
  });
});
