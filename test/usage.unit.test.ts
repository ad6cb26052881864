import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { UsageDelta, UsageStore } from '../src/store/usage-store.js';
import { UsageRecorder, utcDay } from '../src/usage/usage-recorder.js';

describe('utcDay', () => {
  it('names the UTC day, across midnight and back, like toISOString does', () => {
    const times = ['2026-11-23T23:59:59.999Z', '2026-11-24T00:00:00.000Z', '2026-11-23T12:00:00.000Z', '1969-12-31T23:00:00.000Z'];
    for (const time of times) assert.equal(utcDay(Date.parse(time)), time.slice(0, 10));
  });
});

describe('UsageRecorder', () => {
  /** A store that fails its first `failures` writes and keeps what it is given after that. */
  function flakyStore(failures: number) {
    const written: UsageDelta[] = [];
    let calls = 0;
    const store = {
      async add(deltas: readonly UsageDelta[]) {
        if (calls++ < failures) throw new Error('database down');
        written.push(...deltas.map((delta) => structuredClone(delta)));
      },
    } as unknown as UsageStore;
    return { store, written };
  }

  it('batches counts per subject and day until flushed', async () => {
    const { store, written } = flakyStore(0);
    const recorder = new UsageRecorder(store, pino({ level: 'silent' }), () => Date.parse('2026-11-23T10:00:00Z'));
    recorder.record('key_a', { kind: 'succeeded', renderMs: 100, bytes: 2000 });
    recorder.record('key_a', { kind: 'failed', renderMs: 50 });
    recorder.record('key_a', { kind: 'rejected', reason: 'RATE_LIMITED' });
    recorder.record('key_a', { kind: 'succeeded', renderMs: 0, bytes: 500, cached: true });
    recorder.record('key_b', { kind: 'other' });
    assert.equal(written.length, 0, 'nothing is written per request');
    await recorder.close();
    const a = written.find((delta) => delta.subject === 'key_a');
    assert.deepEqual(a, {
      subject: 'key_a',
      day: '2026-11-23',
      requests: 4,
      succeeded: 2,
      failed: 1,
      rejected: 1,
      rejectedBy: { RATE_LIMITED: 1 },
      renderMs: 150,
      bytesSent: 2500,
      cacheHits: 1,
    });
    assert.equal(written.find((delta) => delta.subject === 'key_b')?.requests, 1);
  });

  it('keeps the counts of a failed write and writes them, merged, with the next flush', async () => {
    const { store, written } = flakyStore(1);
    const recorder = new UsageRecorder(store, pino({ level: 'silent' }), () => Date.parse('2026-11-23T10:00:00Z'));
    recorder.record('key_a', { kind: 'rejected', reason: 'QUEUE_FULL' });
    await recorder.flush();
    assert.equal(written.length, 0);
    recorder.record('key_a', { kind: 'rejected', reason: 'QUEUE_FULL' });
    await recorder.close();
    assert.equal(written.length, 1);
    assert.equal(written[0]!.requests, 2);
    assert.deepEqual(written[0]!.rejectedBy, { QUEUE_FULL: 2 });
  });
});
