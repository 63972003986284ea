import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS } from '@kms/contracts';
import type { LoadJob, LoadResult } from './load-job';
import type { Message } from './unary-caller';

const run = promisify(execFile);
const SOURCE_DIR = join(__dirname, 'paced-load');
const BUILD_DIR = join(__dirname, '..', '.kms-state', 'bench', 'paced-load');
/**
 * ZGC: pauses under a millisecond, where a generational collector's young pauses are the tail the
 * Node.js generator showed on its own (3–10 ms scavenges every ~120 ms). A fixed heap, so the JVM does
 * not resize it during the run.
 */
/**
 * ZGC (pauses under a millisecond) and the C1 compiler only: C2's compilations took about half the
 * client's CPU in a paced run of a few seconds (650 against 350 µs a call at 1,500 calls/s against the
 * bare echo, with the same or a lower p99), CPU the server and PostgreSQL share on a small machine.
 */
const JVM_OPTIONS = ['-XX:+UseZGC', '-Xms512m', '-Xmx512m', '-XX:TieredStopAtLevel=1'];
/** The JIT compiles the call path during the first seconds: a paced run's warm-up is at least this long. */
export const JAVA_MIN_WARMUP_SECONDS = 3;

/** What PacedLoad.java prints: the fields of a LoadResult it measures itself. */
interface JavaResult {
  totalCalls: number;
  calls: number;
  p50Ms?: number;
  p99Ms?: number;
  failedCalls: number;
  clientCpuUsPerCall: number;
  firstError?: string;
}

/**
 * The bench's paced rows from the JVM (bench/paced-load/PacedLoad.java, grpc-java over Netty): the same
 * schedule, lanes, window and latency rule as closedLoop's paced mode, the same request bytes (encoded
 * here with the proto's serializer) and headers, but a client whose own pauses are far below a
 * millisecond, so the p99 of a paced row is the server's and the machine's rather than the Node.js
 * generator's garbage collection. Single calls only (no batch results). `prepare` resolves the
 * dependencies with Maven (from Maven Central, cached in ~/.m2) and compiles with javac.
 */
export class JavaPacedLoad {
  readonly description: string;

  private constructor(
    private readonly classpath: string,
    javaVersion: string,
  ) {
    this.description = `JVM (${javaVersion}, grpc-java over Netty, ${JVM_OPTIONS.join(' ')})`;
  }

  /** Resolve and compile; rejects with what failed when Java or Maven cannot. */
  static async prepare(): Promise<JavaPacedLoad> {
    await mkdir(join(BUILD_DIR, 'classes'), { recursive: true });
    const cpFile = join(BUILD_DIR, 'classpath.txt');
    await run('mvn', ['-q', '-B', '-f', join(SOURCE_DIR, 'pom.xml'), 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`], { maxBuffer: 16 << 20 });
    const dependencies = (await readFile(cpFile, 'utf8')).trim();
    await run('javac', ['--release', '17', '-cp', dependencies, '-d', join(BUILD_DIR, 'classes'), join(SOURCE_DIR, 'src/main/java/kms/bench/PacedLoad.java')]);
    const { stderr } = await run('java', ['-version']);
    return new JavaPacedLoad(`${join(BUILD_DIR, 'classes')}:${dependencies}`, stderr.split('\n')[0]?.trim() ?? 'java');
  }

  /** One paced scenario. The warm-up is at least JAVA_MIN_WARMUP_SECONDS (the JIT). */
  async run(job: LoadJob): Promise<LoadResult> {
    if (job.ratePerSecond === undefined || job.batchResults || job.itemsPerCall !== 1) throw new Error(`${job.name}: the JVM generator runs paced single calls only`);
    const def = loadSync(job.protoFile, { ...PROTO_LOADER_OPTIONS, includeDirs: job.includeDirs });
    const method = (def[job.service] as Record<string, MethodDefinition<Message, Message>> | undefined)?.[job.method];
    if (!method) throw new Error(`${job.service}/${job.method} is not in ${job.protoFile}`);
    const input = {
      address: job.address,
      // grpc-java names a method without the leading slash of the HTTP/2 path.
      path: method.path.replace(/^\//, ''),
      requests: job.requests.map((r) => method.requestSerialize(r).toString('base64')),
      metadata: job.metadata,
      ratePerSecond: job.ratePerSecond,
      lanes: job.concurrency,
      warmupSeconds: Math.max(job.warmupSeconds, JAVA_MIN_WARMUP_SECONDS),
      seconds: job.seconds,
      deadlineMs: job.deadlineMs,
    };
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('java', [...JVM_OPTIONS, '-cp', this.classpath, 'kms.bench.PacedLoad'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
      child.on('error', reject);
      child.on('exit', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`JVM paced load for ${job.name} exited (${signal ?? code}): ${err.trim()}`))));
      child.stdin.end(JSON.stringify(input));
    });
    const r = JSON.parse(output) as JavaResult;
    return {
      name: job.name,
      totalCalls: r.totalCalls,
      calls: r.calls,
      items: r.calls,
      seconds: job.seconds,
      callsPerSecond: r.calls / job.seconds,
      itemsPerSecond: r.calls / job.seconds,
      p50Ms: r.p50Ms ?? Number.NaN,
      p99Ms: r.p99Ms ?? Number.NaN,
      failedCalls: r.failedCalls,
      failedItems: 0,
      clientCpuUsPerCall: r.clientCpuUsPerCall,
      ...(r.firstError !== undefined ? { firstError: r.firstError } : {}),
    };
  }
}
