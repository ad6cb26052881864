import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FairQueue } from '../src/admission/fair-queue.js';

/** Shifts until the queue is empty and returns everything in the order it came out. */
function shiftAll<T>(queue: FairQueue<T>): T[] {
  const out: T[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item);
  return out;
}

describe('FairQueue', () => {
  it('returns undefined from shift() when nothing is waiting', () => {
    const queue = new FairQueue<string>();
    assert.equal(queue.shift(), undefined);
    assert.equal(queue.size, 0);
  });

  it('hands out one caller\'s items in the order they were pushed', () => {
    const queue = new FairQueue<string>();
    for (const item of ['a1', 'a2', 'a3', 'a4']) queue.push('a', item);
    assert.deepEqual(shiftAll(queue), ['a1', 'a2', 'a3', 'a4']);
  });

  it('serves a caller with one item second when another caller queued five before it', () => {
    const queue = new FairQueue<string>();
    for (let i = 1; i <= 5; i++) queue.push('a', `a${i}`);
    queue.push('b', 'b1');
    assert.deepEqual(shiftAll(queue), ['a1', 'b1', 'a2', 'a3', 'a4', 'a5']);
  });

  it('takes from three callers in turn, keeping each caller\'s own order', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('a', 'a3');
    queue.push('b', 'b1');
    queue.push('b', 'b2');
    queue.push('c', 'c1');
    assert.deepEqual(shiftAll(queue), ['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });

  it('puts a caller whose line ran empty at the back of the rotation when it pushes again', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.push('b', 'b1');
    assert.equal(queue.shift(), 'a1');
    queue.push('a', 'a2');
    assert.deepEqual(shiftAll(queue), ['b1', 'a2']);
  });

  it('removes a waiting item so it is never handed out, and reports true', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('a', 'a3');
    assert.equal(queue.remove('a', 'a2'), true);
    assert.equal(queue.size, 2);
    assert.deepEqual(shiftAll(queue), ['a1', 'a3']);
  });

  it('drops a caller from the rotation when its only waiting item is removed', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.push('b', 'b1');
    queue.push('c', 'c1');
    assert.equal(queue.remove('b', 'b1'), true);
    assert.deepEqual(shiftAll(queue), ['a1', 'c1']);
  });

  it('reports false and keeps its size when removing an item that is not waiting', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    assert.equal(queue.remove('a', 'nope'), false);
    assert.equal(queue.remove('unknown-caller', 'a1'), false);
    assert.equal(queue.size, 1);
    assert.equal(queue.shift(), 'a1');
  });

  it('does not remove the same item twice', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    assert.equal(queue.remove('a', 'a1'), true);
    assert.equal(queue.remove('a', 'a1'), false);
    assert.equal(queue.size, 1);
  });

  it('counts pushes, shifts and removals in size', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    assert.equal(queue.size, 3);
    queue.shift();
    assert.equal(queue.size, 2);
    queue.remove('b', 'b1');
    assert.equal(queue.size, 1);
    queue.shift();
    assert.equal(queue.size, 0);
    queue.shift();
    assert.equal(queue.size, 0, 'shifting an empty queue must not make size negative');
  });

  it('drain() returns every waiting item and leaves the queue empty', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    queue.push('c', 'c1');
    const drained = queue.drain();
    assert.deepEqual([...drained].sort(), ['a1', 'a2', 'b1', 'c1']);
    assert.equal(queue.size, 0);
    assert.equal(queue.shift(), undefined);
    assert.deepEqual(queue.drain(), []);
  });

  it('works normally again after drain()', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.drain();
    queue.push('b', 'b1');
    queue.push('a', 'a2');
    assert.equal(queue.size, 2);
    assert.deepEqual(shiftAll(queue), ['b1', 'a2']);
  });
});
