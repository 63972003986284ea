import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { freePort, REPO_ROOT } from '@kms/testing';
import { type Admin, AssignerProtocol, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';

const KAFKA_SH = resolve(REPO_ROOT, 'tools/kafka/kafka.sh');
const TEST_CLUSTERS = resolve(REPO_ROOT, '.kms-state/kafka/test');

/** A topic to create; replication defaults to min(3, nodes) and min.insync.replicas to 2 from 3 replicas on. */
export interface TestTopic {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  minInsyncReplicas?: number;
}

export interface KafkaTestClusterOptions {
  /** Combined controller+broker nodes: 1 (default) or 3 for the fault tests. */
  nodes?: number;
  /** Topics created (admin client, waiting for leaders) once the cluster is up. */
  topics?: Array<string | TestTopic>;
  /** Names the cluster folder under .kms-state/kafka/test/. */
  name?: string;
  /** How long one node may take to start; default 90 s (JVMs start slowly on a loaded machine). */
  startTimeoutSeconds?: number;
}

function run(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile('bash', [KAFKA_SH, ...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kafka.sh ${args[0]} failed: ${error.message}\n${stderr}`));
      else resolveRun(stdout.trim());
    });
  });
}

/**
 * A real Apache Kafka cluster (KRaft, tools/kafka/kafka.sh) on free loopback ports, for tests:
 * each node is a JVM tracked by its pid, with data and logs in .kms-state/kafka/test/<name>-<id>/.
 * Nodes can be killed (-9), stopped, restarted; `destroy()` kills every node by pid and removes the
 * folder. The nodes also die by themselves within a second of the test process (--watch-pid), so a
 * crashed test run leaves no broker behind.
 */
export class KafkaTestCluster {
  readonly brokers: string[];
  readonly nodeIds: number[];

  private constructor(
    readonly dir: string,
    readonly bootstrap: string,
    private readonly timeoutSeconds: number,
  ) {
    this.brokers = bootstrap.split(',');
    this.nodeIds = this.brokers.map((_, i) => i + 1);
  }

  /** Format and start a cluster, wait until every broker is registered, then create the topics. */
  static async start(options: KafkaTestClusterOptions = {}): Promise<KafkaTestCluster> {
    const nodes = options.nodes ?? 1;
    const timeoutSeconds = options.startTimeoutSeconds ?? 90;
    // A free port can be taken by someone else before the JVM binds it: try again on new ports.
    for (let attempt = 1; ; attempt++) {
      const dir = resolve(TEST_CLUSTERS, `${options.name ?? 'cluster'}-${randomUUID().slice(0, 8)}`);
      const ports: number[] = [];
      while (ports.length < 2 * nodes) {
        const p = await freePort();
        if (!ports.includes(p)) ports.push(p);
      }
      const args = ['start', '--dir', dir, '--nodes', String(nodes), '--ports', ports.slice(0, nodes).join(','), '--controller-ports', ports.slice(nodes).join(',')];
      try {
        const bootstrap = await run([...args, '--watch-pid', String(process.pid), '--timeout', String(timeoutSeconds)], (timeoutSeconds + 120) * 1000);
        const cluster = new KafkaTestCluster(dir, bootstrap.split('\n').pop() ?? '', timeoutSeconds);
        await cluster.waitReady(cluster.nodeIds.length);
        await cluster.createTopics((options.topics ?? []).map((t) => (typeof t === 'string' ? { name: t } : t)));
        return cluster;
      } catch (e) {
        await run(['stop', '--dir', dir, '--kill'], 30_000).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
        if (attempt >= 3) throw e;
      }
    }
  }

  /** Create topics (waiting for their leaders); existing ones are left as they are. */
  async createTopics(topics: TestTopic[]): Promise<void> {
    if (topics.length === 0) return;
    await this.withAdmin((admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => {
          const replicationFactor = t.replicationFactor ?? Math.min(3, this.nodeIds.length);
          const minInsync = t.minInsyncReplicas ?? (replicationFactor >= 3 ? 2 : 1);
          return { topic: t.name, numPartitions: t.partitions ?? 1, replicationFactor, configEntries: [{ name: 'min.insync.replicas', value: String(minInsync) }] };
        }),
      }),
    );
  }

  /** A topic as the cluster has it: partitions, replication factor and min.insync.replicas. */
  describeTopic(topic: string): Promise<{ partitions: number; replicationFactor: number; minInsyncReplicas: number }> {
    return this.withAdmin(async (admin) => {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = meta.topics[0]?.partitions ?? [];
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }] });
      const minIsr = configs.resources[0]?.configEntries.find((c) => c.configName === 'min.insync.replicas')?.configValue;
      return { partitions: partitions.length, replicationFactor: partitions[0]?.replicas.length ?? 0, minInsyncReplicas: Number(minIsr) };
    });
  }

  /** A consumer group's state and, per member, its client id and how many partitions it was given. */
  describeGroup(groupId: string): Promise<{ state: string; members: Array<{ clientId: string; partitions: number }> }> {
    return this.withAdmin(async (admin) => {
      // kafkajs looks the group coordinator up among brokers it knows from metadata: load it first.
      await admin.describeCluster();
      const group = (await admin.describeGroups([groupId])).groups[0];
      const members = (group?.members ?? []).map((m) => {
        const assignment = m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
        const partitions = Object.values(assignment?.assignment ?? {}).reduce((n, ps) => n + ps.length, 0);
        return { clientId: m.clientId, partitions };
      });
      return { state: group?.state ?? 'Unknown', members };
    });
  }

  /** The node id leading a partition now. */
  leaderOf(topic: string, partition: number): Promise<number> {
    return this.withAdmin(async (admin) => {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const p = meta.topics[0]?.partitions.find((x) => x.partitionId === partition);
      if (!p || p.leader < 0) throw new Error(`${topic}[${partition}] has no leader`);
      return p.leader;
    });
  }

  /** Pid of a running node, or null when it is down. */
  async pid(nodeId: number): Promise<number | null> {
    return (await this.status()).find((n) => n.id === nodeId)?.pid ?? null;
  }

  /** Every node: id, pid (null when down) and client address, as kafka.sh status reports them. */
  async status(): Promise<Array<{ id: number; pid: number | null; address: string }>> {
    return (await run(['status', '--dir', this.dir], 10_000)).split('\n').map((line) => {
      const [id, pid, address] = line.split(' ');
      return { id: Number(id), pid: pid === 'down' ? null : Number(pid), address: address ?? '' };
    });
  }

  /** SIGKILL one node: no controlled shutdown, its partitions move once the controller fences it. */
  async kill(nodeId: number): Promise<void> {
    await run(['stop', '--dir', this.dir, '--node', String(nodeId), '--kill'], 30_000);
  }

  /** SIGTERM one node (controlled shutdown). */
  async stopNode(nodeId: number): Promise<void> {
    await run(['stop', '--dir', this.dir, '--node', String(nodeId)], 60_000);
  }

  /** Start a node that was killed or stopped, on its former ports and data, and wait until it is registered. */
  async startNode(nodeId: number): Promise<void> {
    await run(['start', '--dir', this.dir, '--node', String(nodeId), '--watch-pid', String(process.pid), '--timeout', String(this.timeoutSeconds)], (this.timeoutSeconds + 60) * 1000);
  }

  /** Take the whole cluster down: SIGTERM (or SIGKILL with `kill`) every node; data is kept. */
  async stopAll(options: { kill?: boolean } = {}): Promise<void> {
    await run(['stop', '--dir', this.dir, ...(options.kill ? ['--kill'] : [])], 60_000);
  }

  /** Start every node that is down and wait until all brokers are registered. */
  async startAll(): Promise<void> {
    await run(['start', '--dir', this.dir, '--watch-pid', String(process.pid), '--timeout', String(this.timeoutSeconds)], (this.timeoutSeconds + 60) * 1000);
    await this.waitReady(this.nodeIds.length);
  }

  /** Wait until `count` brokers are registered and metadata is served. */
  async waitReady(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      try {
        const brokers = await this.withAdmin(async (admin) => (await admin.describeCluster()).brokers.length);
        if (brokers >= count) return;
        last = `${brokers} of ${count} brokers registered`;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`Kafka test cluster in ${this.dir} not ready within ${timeoutMs} ms: ${last}`);
  }

  /** SIGKILL every node by pid and remove the cluster folder. */
  async destroy(): Promise<void> {
    await run(['stop', '--dir', this.dir, '--kill'], 30_000).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Run admin calls against the nodes that are up (a dead seed broker would only cost retries), once
   * more after a connection error: right after a kill, metadata may still name the dead node.
   */
  private async withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const live = (await this.status()).filter((n) => n.pid !== null).map((n) => n.address);
      const admin = new Kafka({ clientId: 'kafka-test-cluster', brokers: live.length > 0 ? live : this.brokers, logLevel: logLevel.NOTHING }).admin({ retry: { retries: 2 } });
      try {
        await admin.connect();
        return await work(admin);
      } catch (e) {
        if (attempt >= 3 || !/Connection|ECONNREFUSED|broker pool/i.test(`${String(e)} ${String((e as { cause?: unknown }).cause)}`)) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
  }
}
