// A second KMS instance's confirmation consumer, run as its own process by the Kafka fault test
// (kafka-faults.e2e-spec.ts) so that it can be killed with SIGKILL like a crashed instance. It joins
// the consumer group and records confirmations through the key service's gRPC API, exactly as the
// KMS does. With MEMBER_STALL_AFTER_FIRST=1 it stops right after the key service recorded its first
// confirmation, before the offset could be committed: the moment a crash is worst for exactly-once.
// Prints "consuming" once started and "recorded <request-id>" after each confirmation.
import { createKmsClient } from '@kms/contracts';
import { grpcConfirmationSink, KafkaConfirmationConsumer } from '@kms/notices-kafka';
import { logLevel } from 'kafkajs';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const stall = process.env['MEMBER_STALL_AFTER_FIRST'] === '1';
  const keyService = grpcConfirmationSink(createKmsClient(required('MEMBER_KMS_ADDRESS')));
  const consumer = new KafkaConfirmationConsumer(
    {
      async confirm(m) {
        await keyService.confirm(m);
        process.stdout.write(`recorded ${m.requestId}\n`);
        // Never resolves: the message stays unacknowledged until the test kills this process.
        if (stall) await new Promise<never>(() => undefined);
      },
    },
    {
      brokers: required('MEMBER_BROKERS').split(','),
      topic: required('MEMBER_TOPIC'),
      groupId: required('MEMBER_GROUP'),
      clientId: 'kms-confirmations-member',
      sessionTimeoutMs: Number(required('MEMBER_SESSION_TIMEOUT_MS')),
      logLevel: logLevel.NOTHING,
    },
  );
  await consumer.start();
  process.stdout.write('consuming\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`confirmation group member failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
