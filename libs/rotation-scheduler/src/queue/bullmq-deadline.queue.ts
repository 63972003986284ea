import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { deadlineJobId, delayUntil, type Deadline } from '../planner/deadline.planner';

/**
 * Outcome of running one job: `retryInMs` puts it back as delayed; `heldUntil` (ISO, the injected
 * clock's time) also keeps reconciles from promoting it before then although its deadline is due.
 */
export type DeadlineHandler = (deadline: Deadline, jobId: string) => Promise<{ retryInMs?: number; heldUntil?: string }>;

export interface DeadlineQueueSettings {
  /** Redis URL; the queue opens its own two connections (commands and the worker's blocking reads). */
  redisUrl: string;
  /** BullMQ key prefix. Default "kms". Tests use one per test. */
  prefix: string;
  /** Queue name. Default "rotation-deadlines". */
  queueName: string;
  /** Attempts per job before it is dropped (the next reconcile re-creates it). Default 5. */
  attempts: number;
  /** First retry delay; doubles each attempt. Default 5000 ms. */
  backoffMs: number;
  /** Jobs run at once. Default 4. */
  concurrency: number;
}

export interface ReconcileResult {
  planned: number;
  added: string[];
  promoted: string[];
  rescheduled: string[];
  removed: string[];
}

export type JobCounts = Record<'waiting' | 'delayed' | 'active' | 'failed' | 'completed' | 'prioritized', number>;

/** Job data: wrapped, as BullMQ's generics do not keep a union data type apart. */
interface DeadlineJobData {
  deadline: Deadline;
  /** Set while a due job is held (something still depends on the version). */
  heldUntil?: string;
}

/** Job states a reconcile may rewrite: the job is not running. */
const IDLE_STATES = ['delayed', 'waiting', 'prioritized'] as const;

function connection(url: string, name: string): Redis {
  // BullMQ workers block on Redis: ioredis must retry forever instead of failing commands.
  return new Redis(url, { connectionName: name, maxRetriesPerRequest: null, lazyConnect: false });
}

/**
 * One BullMQ delayed job per deadline. Job ids are deterministic (`deadlineJobId`), so adding a
 * deadline that already has a job is a no-op; delays are computed from the injected clock.
 */
export class BullmqDeadlineQueue {
  private readonly queueConnection: Redis;
  private workerConnection?: Redis;
  private readonly queue: Queue<DeadlineJobData>;
  private worker?: Worker<DeadlineJobData>;

  constructor(private readonly settings: DeadlineQueueSettings) {
    this.queueConnection = connection(settings.redisUrl, 'kms-rotation-scheduler-queue');
    this.queueConnection.on('error', () => undefined); // reported by readiness; ioredis reconnects
    this.queue = new Queue<DeadlineJobData>(settings.queueName, { connection: this.queueConnection, prefix: settings.prefix });
    this.queue.on('error', () => undefined);
  }

  /** Start processing jobs with `handler`. */
  start(handler: DeadlineHandler): void {
    this.workerConnection = connection(this.settings.redisUrl, 'kms-rotation-scheduler-worker');
    this.workerConnection.on('error', () => undefined);
    this.worker = new Worker<DeadlineJobData>(
      this.settings.queueName,
      async (job: Job<DeadlineJobData>, token?: string) => {
        const { retryInMs, heldUntil } = await handler(job.data.deadline, job.id ?? deadlineJobId(job.data.deadline));
        if (heldUntil !== undefined || job.data.heldUntil !== undefined) {
          await job.updateData({ deadline: job.data.deadline, ...(heldUntil !== undefined ? { heldUntil } : {}) });
        }
        if (retryInMs !== undefined) {
          // Not due yet (fired early or the deadline moved): back to delayed under the same id.
          await job.moveToDelayed(Date.now() + Math.max(1, retryInMs), token);
          throw new DelayedError();
        }
      },
      { connection: this.workerConnection, prefix: this.settings.prefix, concurrency: this.settings.concurrency },
    );
    this.worker.on('error', () => undefined);
  }

  /**
   * Make the queue hold exactly the planned deadlines: add missing jobs (delay = due - now, so an
   * overdue one runs at once), promote delayed jobs that became due (the clock moved), re-time jobs
   * whose deadline moved, and remove idle jobs no longer planned (a key rotated by hand).
   */
  async reconcile(plan: Deadline[], now: Date): Promise<ReconcileResult> {
    const result: ReconcileResult = { planned: plan.length, added: [], promoted: [], rescheduled: [], removed: [] };
    const wanted = new Map(plan.map((d) => [deadlineJobId(d), d]));
    for (const job of await this.queue.getJobs([...IDLE_STATES])) {
      if (!job?.id || wanted.has(job.id)) continue;
      if (await this.tryRemove(job.id)) result.removed.push(job.id);
    }
    for (const [jobId, deadline] of wanted) {
      const delay = delayUntil(deadline, now);
      const job = await this.queue.getJob(jobId);
      if (!job) {
        await this.queue.add(deadline.kind, { deadline }, {
          jobId,
          delay,
          attempts: this.settings.attempts,
          backoff: { type: 'exponential', delay: this.settings.backoffMs },
          // Finished ids are freed: a re-created job re-checks the key before acting, so it cannot act twice.
          removeOnComplete: true,
          removeOnFail: true,
        });
        result.added.push(jobId);
        continue;
      }
      if (!(await job.isDelayed())) continue;
      const held = job.data.heldUntil !== undefined && Date.parse(job.data.heldUntil) > now.getTime();
      try {
        if (delay === 0 && !held) {
          await job.promote();
          result.promoted.push(jobId);
        } else if (job.data.deadline.dueAt !== deadline.dueAt) {
          await job.updateData({ deadline });
          await job.changeDelay(delay);
          result.rescheduled.push(jobId);
        }
      } catch {
        // The job left the delayed state meanwhile (a worker took it): nothing to fix.
      }
    }
    return result;
  }

  async counts(): Promise<JobCounts> {
    const c = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'failed', 'completed', 'prioritized');
    return {
      waiting: c['waiting'] ?? 0,
      delayed: c['delayed'] ?? 0,
      active: c['active'] ?? 0,
      failed: c['failed'] ?? 0,
      completed: c['completed'] ?? 0,
      prioritized: c['prioritized'] ?? 0,
    };
  }

  /** Ids of the jobs currently held, by state (diagnostics and tests). */
  async jobIds(): Promise<string[]> {
    const jobs = await this.queue.getJobs(['delayed', 'waiting', 'active', 'prioritized']);
    return jobs.flatMap((j) => (j?.id ? [j.id] : [])).sort();
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    for (const c of [this.workerConnection, this.queueConnection]) {
      if (!c) continue;
      if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
      else c.disconnect();
    }
  }

  private async tryRemove(jobId: string): Promise<boolean> {
    try {
      return (await this.queue.remove(jobId)) === 1;
    } catch {
      return false; // locked by a worker: it re-checks the key and does nothing
    }
  }
}
