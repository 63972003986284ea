// Audit records evaluated per second by the rules (pure path: no I/O), over a synthetic mix of
// 50 identities and 200 keys. Run: npx tsx libs/anomaly-detector/src/bench/anomaly-evaluation.bench.ts
import { createRuleContext, DEFAULT_ANOMALY_RULES, evaluateStream, type UsageRecord } from '@kms/anomaly-rules';
import { MONDAY, seededRandom } from '@kms/anomaly-rules/testing';

const N = Number(process.env['BENCH_RECORDS'] ?? 300_000);
const KEY_SERVICE_SINGLE = 1_700; // `npm run bench`: Encrypt calls/s, one at a time
const KEY_SERVICE_BATCHED = 11_000; // `npm run bench`: items/s, batched (upper end)
const rnd = seededRandom(7);
const ops = ['Encrypt', 'Decrypt', 'Sign', 'GenerateDataKey', 'GetKey'];
const records: UsageRecord[] = Array.from({ length: N }, (_, i) => ({
  id: `r${i}`,
  time: new Date(MONDAY.getTime() + i * 5),
  operation: ops[Math.floor(rnd() * ops.length)] ?? 'Encrypt',
  actor: `wl-${Math.floor(rnd() * 50)}`,
  outcome: rnd() < 0.01 ? 'DENIED' : 'SUCCESS',
  keyId: `key-${Math.floor(rnd() * 200)}`,
  keyVersion: 1,
  sourceAddress: `ipv4:10.0.${Math.floor(rnd() * 4)}.${Math.floor(rnd() * 250)}:4000`,
}));
const ctx = createRuleContext({ ...DEFAULT_ANOMALY_RULES, origin: { ...DEFAULT_ANOMALY_RULES.origin, networks: [{ cidr: '10.0.0.0/16', region: 'eu-west' }] } }, new Map());
evaluateStream(records.slice(0, 20_000), ctx); // warm the JIT
const t0 = process.hrtime.bigint();
const { findings } = evaluateStream(records, ctx);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const rate = N / seconds;
console.log(`records evaluated: ${N} in ${seconds.toFixed(2)} s = ${Math.round(rate)} records/s (findings: ${findings.length})`);
console.log(`vs key service single Encrypt ${KEY_SERVICE_SINGLE}/s: ${(rate / KEY_SERVICE_SINGLE).toFixed(1)}x; vs batched ${KEY_SERVICE_BATCHED} items/s: ${(rate / KEY_SERVICE_BATCHED).toFixed(1)}x`);
