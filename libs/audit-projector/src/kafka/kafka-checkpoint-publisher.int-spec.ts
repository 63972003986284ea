import { randomUUID } from 'node:crypto';
import { leafHash, verifyCheckpointNote } from '@kms/ledger';
import { KafkaTestCluster, readTopicWithKcat } from '@kms/notices-kafka/testing';
import { logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { SoftwareAttestationSigner } from '../attestation/software-attestation-signer';
import { LedgerStore } from '../ledger/ledger-store';
import { type ReadModelTestSchema, readModelTestSchema } from '../testing/read-model-test-schema';
import { type CheckpointMessage, KafkaCheckpointPublisher } from './kafka-checkpoint-publisher';

const signer = SoftwareAttestationSigner.generate();
const clock = { now: () => new Date('2026-03-02T00:00:00.000Z') };
let kafka: KafkaTestCluster;
let db: ReadModelTestSchema;
let pool: Pool;
let dataSource: DataSource;

async function appendLeaves(from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const data = Buffer.from(JSON.stringify({ kind: 'audit', position: String(i + 1), id: randomUUID() }));
    await pool.query(
      'INSERT INTO ledger_leaves (log, leaf_index, source_position, record_id, subject_key_id, record_time, leaf_hash, leaf_data) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7)',
      ['audit', i, i + 1, randomUUID(), clock.now().toISOString(), leafHash(data), data],
    );
  }
}

beforeAll(async () => {
  kafka = await KafkaTestCluster.start({ name: 'checkpoint-publisher' });
  db = await readModelTestSchema('ap_kafka');
  ({ pool, dataSource } = db);
}, 180_000);

afterAll(async () => {
  await db?.drop();
  await kafka?.destroy();
});

describe('KafkaCheckpointPublisher (Apache Kafka broker)', () => {
  it('sends every signed checkpoint, keyed by the log origin, and a partner reading with kcat verifies the signature', async () => {
    const topic = `checkpoints-${randomUUID()}`;
    const publisher = new KafkaCheckpointPublisher({ brokers: kafka.brokers, topic, logLevel: logLevel.NOTHING });
    const ledger = new LedgerStore(dataSource, 'kms.kafka.test/ledger', signer, clock, publisher);
    try {
      await appendLeaves(0, 3);
      const first = await ledger.checkpointIfGrown('audit');
      // Not grown: nothing new is signed or sent.
      expect(await ledger.checkpointIfGrown('audit')).toEqual(first);
      await appendLeaves(3, 4);
      const second = await ledger.checkpointIfGrown('audit');
      expect(second.treeSize).toBe(7);

      let messages = await readTopicWithKcat(kafka.bootstrap, topic);
      for (let i = 0; messages.length < 2 && i < 20; i++) {
        await new Promise((r) => setTimeout(r, 250));
        messages = await readTopicWithKcat(kafka.bootstrap, topic);
      }
      expect(messages).toHaveLength(2);
      // One key → one partition, in signing order.
      expect(new Set(messages.map((m) => m.partition)).size).toBe(1);
      messages.sort((a, b) => a.offset - b.offset);
      const pem = await signer.publicKeyPem();
      const stored = [first, second];
      messages.forEach((m, i) => {
        expect(m.key).toBe('kms.kafka.test/ledger/audit');
        const value = JSON.parse(m.payload ?? 'null') as CheckpointMessage;
        expect(value).toEqual({
          format: 'kms.ledger-checkpoint.v1',
          origin: 'kms.kafka.test/ledger/audit',
          log: 'audit',
          treeSize: stored[i].treeSize,
          rootHash: stored[i].rootHash.toString('base64'),
          time: '2026-03-02T00:00:00.000Z',
          note: stored[i].note,
        });
        const verified = verifyCheckpointNote(value.note, pem, 'kms.kafka.test/ledger/audit');
        expect(verified).toMatchObject({ valid: true });
        if (!verified.valid) throw new Error(verified.reason);
        expect(verified.checkpoint.treeSize).toBe(stored[i].treeSize);
        expect(verified.checkpoint.rootHash.equals(stored[i].rootHash)).toBe(true);
      });
      // The copy in Kafka is exactly the note the database holds and the API serves.
      expect(JSON.parse(messages[1].payload ?? '{}').note).toBe((await ledger.latestCheckpoint('audit'))?.note);
      // A note altered in transit no longer verifies with the ledger's verifier.
      const tampered = (JSON.parse(messages[1].payload ?? '{}') as CheckpointMessage).note.replace('\n7\n', '\n8\n');
      expect(verifyCheckpointNote(tampered, pem, 'kms.kafka.test/ledger/audit').valid).toBe(false);
    } finally {
      await publisher.close();
    }
  }, 60_000);

  it('fails the round when the brokers are down and sends the missed checkpoint once they are back', async () => {
    const topic = `checkpoints-${randomUUID()}`;
    const publisher = new KafkaCheckpointPublisher({ brokers: kafka.brokers, topic, logLevel: logLevel.NOTHING, ackTimeoutMs: 2000 });
    const ledger = new LedgerStore(dataSource, 'kms.kafka.test/ledger', signer, clock, publisher);
    const pem = await signer.publicKeyPem();
    try {
      // The broker process dies (SIGKILL); its data stays for the restart below.
      await kafka.stopAll({ kill: true });
      await appendLeaves(7, 2);
      // Stored and signed, but the Kafka copy failed: the error reaches the runner (lastError, readiness).
      await expect(ledger.checkpointIfGrown('audit')).rejects.toThrow();
      const missed = await ledger.latestCheckpoint('audit');
      expect(missed?.treeSize).toBe(9);
      await kafka.startAll();
      // The log did not grow, yet the next round sends the checkpoint Kafka missed.
      let sent: Awaited<ReturnType<LedgerStore['checkpointIfGrown']>> | undefined;
      for (let i = 0; !sent && i < 20; i++) {
        sent = await ledger.checkpointIfGrown('audit').catch(async () => (await new Promise((r) => setTimeout(r, 250)), undefined));
      }
      expect(sent?.treeSize).toBe(9);
      const messages = await readTopicWithKcat(kafka.bootstrap, topic);
      expect(messages.map((m) => (JSON.parse(m.payload ?? '{}') as CheckpointMessage).treeSize)).toEqual([9]);
      expect(verifyCheckpointNote((JSON.parse(messages[0].payload ?? '{}') as CheckpointMessage).note, pem, 'kms.kafka.test/ledger/audit').valid).toBe(true);
      // Sent once: a further idle round sends nothing again.
      await ledger.checkpointIfGrown('audit');
      expect(await readTopicWithKcat(kafka.bootstrap, topic)).toHaveLength(1);
    } finally {
      await kafka.startAll();
      await publisher.close();
    }
  }, 90_000);
});
