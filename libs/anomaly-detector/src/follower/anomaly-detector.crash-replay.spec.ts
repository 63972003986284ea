import { testConfig } from '@kms/anomaly-rules/testing';
import { InMemoryEventStore } from '@kms/event-store';
import { anomalyStreamId } from './anomaly-detector.service';
import { MemoryAuditFeed, MemoryStateStore, RecordingContainment, memoryDetector, refusedCalls } from './detector-test-doubles';

// Only the refused-burst rule, per identity: 25 refused calls give exactly one high finding.
const rules = testConfig((c) => {
  c.spike.enabled = false;
  c.origin.enabled = false;
  c.offHours.enabled = false;
  c.versionState.enabled = false;
  c.breakGlass.enabled = false;
  c.bulkAccess.enabled = false;
  c.refusedBurst.perSource = false;
});

async function anomalyStreams(events: InMemoryEventStore): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const all: Array<{ streamId: string; type: string }> = [];
  const sub = events.subscribeToAll({}, { onEvent: (e) => void all.push(e), onCaughtUp: () => undefined, onError: () => undefined });
  await new Promise((r) => setTimeout(r, 10));
  await sub.stop();
  for (const e of all) if (e.streamId.startsWith('anomaly-')) out.set(e.streamId, [...(out.get(e.streamId) ?? []), e.type]);
  return out;
}

describe('AnomalyDetectorService crash replay', () => {
  const setup = () => {
    const parts = { feed: new MemoryAuditFeed(), events: new InMemoryEventStore(), state: new MemoryStateStore(), containment: new RecordingContainment() };
    parts.feed.append(...refusedCalls(25, 'wl-orders'));
    return parts;
  };

  it('given AnomalyDetected was appended but the process crashed before containment, when it restarts, then the finding is not duplicated and containment completes once', async () => {
    const parts = setup();
    parts.containment.failNextSuspend = true;
    await expect(memoryDetector(rules, parts).tick()).rejects.toThrow('crash before containment');
    const afterCrash = await anomalyStreams(parts.events);
    expect([...afterCrash.values()]).toEqual([['AnomalyDetected']]);
    expect(parts.state.checkpoint).toBe(0n);
    expect(parts.containment.suspended.size).toBe(0);

    const restarted = memoryDetector(rules, parts);
    await expect(restarted.tick()).resolves.toBe(false);
    expect(restarted.stats).toMatchObject({ findingsRecorded: 0, findingsReplayed: 1, containments: 1 });
    expect(parts.containment.suspendCalls).toEqual(['wl-orders']);
    const streams = await anomalyStreams(parts.events);
    expect([...streams.values()]).toEqual([['AnomalyDetected', 'AnomalyContained']]);
    expect([...streams.keys()][0]).toBe([...afterCrash.keys()][0]);
    expect(parts.state.checkpoint).toBe(25n);

    // Nothing left to do: a further batch reads nothing.
    await expect(restarted.tick()).resolves.toBe(false);
    expect(parts.containment.suspendCalls).toHaveLength(1);
  });

  it('given the finding was recorded and contained but the checkpoint commit crashed, when it restarts, then it replays the batch without a second event or a second containment', async () => {
    const parts = setup();
    parts.state.failNextCommit = true;
    const first = memoryDetector(rules, parts);
    await expect(first.tick()).rejects.toThrow('crash before the checkpoint commit');
    expect(first.stats.findingsRecorded).toBe(1);
    expect(parts.containment.suspendCalls).toEqual(['wl-orders']);
    expect(parts.state.checkpoint).toBe(0n);
    const [findingStream] = [...(await anomalyStreams(parts.events)).keys()];

    const restarted = memoryDetector(rules, parts);
    await restarted.tick();
    expect(restarted.stats).toMatchObject({ findingsRecorded: 0, findingsReplayed: 1, containments: 0 });
    expect(parts.containment.suspendCalls).toEqual(['wl-orders']);
    const streams = await anomalyStreams(parts.events);
    expect([...streams.entries()]).toEqual([[findingStream, ['AnomalyDetected', 'AnomalyContained']]]);
    const contained = (await parts.events.readStream(findingStream ?? '')).events.filter((e) => e.type === 'AnomalyContained');
    expect(contained).toHaveLength(1);
    expect(contained[0]?.data).toMatchObject({ actions: ['suspend-identity:wl-orders:SUSPENDED'] });
    expect(parts.state.checkpoint).toBe(25n);
  });

  it('names the stream after the finding id', () => {
    expect(anomalyStreamId('abc')).toBe('anomaly-abc');
  });
});
