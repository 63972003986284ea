import { AuditSealer } from '../audit/audit-seal';

/** A fixed key for tests' audit seals (never a deployment's: those derive it from the master key). */
export const TEST_AUDIT_SEAL_KEY = Buffer.alloc(32, 0xa5);

/** The sealer tests' writers and feeds share, so what one writes the other verifies. */
export function testAuditSealer(): AuditSealer {
  return new AuditSealer(TEST_AUDIT_SEAL_KEY);
}
