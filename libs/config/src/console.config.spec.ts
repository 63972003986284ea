import { ConfigError, loadConfig } from './kms-config';
import { TEST_MASTER_KEY } from './testing';

const base = { KMS_MASTER_KEY: TEST_MASTER_KEY };

function problem(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env }, '/srv/kms');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('loaded');
}

describe('console configuration (WebAuthn relying party, enrolment links)', () => {
  it('defaults to localhost on the HTTP port, 15-minute enrolment links', () => {
    expect(loadConfig({ ...base, KMS_HTTP_ADDRESS: '127.0.0.1:9090' }, '/srv/kms').console).toEqual({
      rpId: 'localhost',
      rpName: 'KMS',
      origins: ['http://localhost:9090'],
      enrolmentLinkTtlMinutes: 15,
      assetsDir: '/srv/kms/dist/console',
      complianceUrl: 'http://127.0.0.1:9090',
    });
    // Listening on every interface: the pass-through calls this server on the loopback.
    expect(loadConfig({ ...base, KMS_HTTP_ADDRESS: '0.0.0.0:8080' }, '/srv/kms').console.complianceUrl).toBe('http://127.0.0.1:8080');
  });

  it('takes the compliance API the console passes reads through to', () => {
    expect(loadConfig({ ...base, KMS_CONSOLE_COMPLIANCE_URL: 'https://audit.internal:8443/' }, '/srv/kms').console.complianceUrl).toBe('https://audit.internal:8443');
    expect(problem({ KMS_CONSOLE_COMPLIANCE_URL: 'not a url' }).message).toMatch(/KMS_CONSOLE_COMPLIANCE_URL/);
    expect(problem({ KMS_CONSOLE_COMPLIANCE_URL: 'ftp://audit.internal' }).message).toMatch(/KMS_CONSOLE_COMPLIANCE_URL.*http/);
    expect(problem({ KMS_CONSOLE_COMPLIANCE_URL: 'http://audit.internal?x=1' }).message).toMatch(/KMS_CONSOLE_COMPLIANCE_URL/);
  });

  it('takes a relying party and several origins on it', () => {
    const c = loadConfig({ ...base, KMS_CONSOLE_RP_ID: 'example.com', KMS_CONSOLE_ORIGIN: 'https://kms.example.com, https://example.com:8443', KMS_CONSOLE_ENROLMENT_LINK_TTL_MINUTES: '60' }, '/srv/kms').console;
    expect(c).toMatchObject({ rpId: 'example.com', origins: ['https://kms.example.com', 'https://example.com:8443'], enrolmentLinkTtlMinutes: 60 });
    expect(loadConfig({ ...base, KMS_CONSOLE_ASSETS_DIR: 'build/ui' }, '/srv/kms').console.assetsDir).toBe('/srv/kms/build/ui');
  });

  it('refuses bad values, naming the variable', () => {
    expect(problem({ KMS_CONSOLE_RP_ID: 'https://example.com' }).message).toMatch(/KMS_CONSOLE_RP_ID.*domain name/);
    expect(problem({ KMS_CONSOLE_ORIGIN: 'https://kms.example.com/console' }).message).toMatch(/KMS_CONSOLE_ORIGIN.*no path/);
    expect(problem({ KMS_CONSOLE_ORIGIN: 'ftp://localhost' }).message).toMatch(/KMS_CONSOLE_ORIGIN/);
    expect(problem({ KMS_CONSOLE_RP_ID: 'example.com', KMS_CONSOLE_ORIGIN: 'https://evil.test' }).message).toMatch(/KMS_CONSOLE_ORIGIN.*not on the relying party example.com/);
    expect(problem({ KMS_CONSOLE_ENROLMENT_LINK_TTL_MINUTES: '0' }).message).toMatch(/KMS_CONSOLE_ENROLMENT_LINK_TTL_MINUTES/);
  });
});
