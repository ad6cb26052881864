import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallerLedger } from '../src/capture/caller-ledger.js';

/** An idle entry as the pool would hold it: just a name here. */
type Entry = string;

describe('the order idle contexts are evicted in', () => {
  it('is least recently used first when no caller holds more than one', () => {
    const ledger = new CallerLedger<Entry>();
    ledger.addIdle('a', 'a1');
    ledger.addIdle('b', 'b1');
    ledger.addIdle('c', 'c1');
    assert.equal(ledger.victim(), 'a1');
    ledger.removeIdle('a1');
    assert.equal(ledger.victim(), 'b1');
  });

  it('takes a caller’s surplus context before another caller’s last one, even a more recent one', () => {
    const ledger = new CallerLedger<Entry>();
    ledger.addIdle('old', 'old1'); // least recently used, but old's only context
    ledger.addIdle('busy', 'busy1');
    ledger.addIdle('busy', 'busy2');
    assert.equal(ledger.surplus, 1);
    // busy's older context goes: busy still keeps busy2.
    assert.equal(ledger.victim(), 'busy1');
    ledger.removeIdle('busy1');
    assert.equal(ledger.surplus, 0);
    assert.equal(ledger.victim(), 'old1');
  });

  it('counts every idle context of a caller with a capture running as surplus', () => {
    const ledger = new CallerLedger<Entry>();
    ledger.addIdle('a', 'a1');
    ledger.addIdle('b', 'b1');
    assert.equal(ledger.surplus, 0);
    ledger.hold('b'); // b has a capture running in another context
    assert.equal(ledger.surplus, 1);
    assert.equal(ledger.victim(), 'b1');
    ledger.unhold('b');
    assert.equal(ledger.surplus, 0);
    assert.equal(ledger.victim(), 'a1');
  });

  it('lets a caller take only its own contexts, newest first, and counts a taken one busy', () => {
    const ledger = new CallerLedger<Entry>();
    ledger.addIdle('a', 'a1');
    ledger.addIdle('a', 'a2');
    ledger.addIdle('b', 'b1');
    assert.equal(ledger.takeNewest('c', () => true), undefined);
    assert.equal(ledger.takeNewest('a', () => true), 'a2');
    // a now holds a busy context and a1: a1 is surplus, evicted before b's only one.
    assert.equal(ledger.victim(), 'a1');
    assert.equal(ledger.takeNewest('a', (entry) => entry !== 'a1'), undefined);
    assert.equal(ledger.idleCount, 2);
  });

  it('forgets a caller once it holds nothing, and an entry removed twice counts once', () => {
    const ledger = new CallerLedger<Entry>();
    ledger.hold('a');
    ledger.addIdle('b', 'b1');
    assert.equal(ledger.callerCount, 2);
    ledger.unhold('a');
    assert.equal(ledger.removeIdle('b1'), true);
    assert.equal(ledger.removeIdle('b1'), false);
    assert.equal(ledger.callerCount, 0);
    assert.equal(ledger.idleCount, 0);
    assert.equal(ledger.victim(), undefined);
  });

  it('lists idle contexts oldest first, and picks a victim among hundreds without sorting', () => {
    const ledger = new CallerLedger<Entry>();
    for (let i = 0; i < 500; i++) ledger.addIdle(`caller${i}`, `e${i}`);
    ledger.addIdle('caller499', 'e499b');
    assert.deepEqual([...ledger.oldestFirst()].slice(0, 3), ['e0', 'e1', 'e2']);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) ledger.victim();
    const perCall = (performance.now() - started) / 1000;
    assert.equal(ledger.victim(), 'e499'); // the only surplus, at the far end of the LRU order
    assert.ok(perCall < 1, `a victim took ${perCall} ms`);
  });
});
