import type { Redis } from 'ioredis';
import { QUEUE_PREFIX } from './queue.js';

/** Per owner: how many of its deliveries wait for their next attempt (a hash; approximate, see the class). */
const WAITING_KEY = `${QUEUE_PREFIX}:webhook-waiting`;
/** The counts heal by expiring when no delivery was queued for an hour (longer than the longest retry wait). */
const WAITING_TTL_SECONDS = 3600;
/** Parked ids outlive any park (a park lasts at most `PARK_MS` of the dispatcher) many times over. */
const PARKED_TTL_SECONDS = 3600;
/** BullMQ's largest priority. */
const MAX_PRIORITY = 2_097_152;
/** How many stale entries one wake skips at most (jobs already back by their own timer). */
const WAKE_SCAN = 16;

/**
 * Pops the owner's parked ids (oldest first) until one is still parked (its id leaves the
 * set as it goes), and answers it; nil when none is. One round trip, atomic, on keys of
 * this module only (never BullMQ's own).
 */
const NEXT_PARKED = `
for i = 1, tonumber(ARGV[1]) do
  local id = redis.call('LPOP', KEYS[1])
  if not id then return false end
  if redis.call('SREM', KEYS[2], id) == 1 then return id end
end
return false`;

/**
 * Fairness of webhook deliveries between owners (the keys that own the jobs), in three
 * parts, because one owner's receivers may answer 500 or hang until the timeout, thousands
 * of times over, and that must not delay anyone else's webhooks by more than moments:
 *
 * 1. **Order, cluster-wide.** A delivery's priority (BullMQ serves lower numbers first) is
 *    how many of its owner's deliveries wait for an attempt, counting retries waiting out
 *    their backoff: each owner's next delivery goes before anyone's second, as the capture
 *    queue orders captures. The counts are approximate (a crash between two steps leaves
 *    one off until the hash expires); an approximate count only reorders, never loses, a
 *    delivery.
 * 2. **A share of this node's slots.** An owner holds at most `ownerSlots` attempts in
 *    flight on one node (a quarter of them), so receivers that hang until the timeout
 *    hold that share and no more: the other slots keep serving other owners.
 * 3. **Parking instead of spinning.** A delivery taken while its owner holds its share is
 *    parked: put back as a delayed job, its id listed under its owner. Each attempt of
 *    that owner that ends (anywhere in the cluster) wakes one parked delivery; a parked
 *    one also comes back by itself after a while, should a wake be lost. An owner with a
 *    backlog thus costs a fetch and a park per delivery, not a busy loop of them.
 */
export class WebhookFairness {
  /** Attempts in flight on this node, per owner. */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    /** An owner's share of this node's delivery slots. */
    readonly ownerSlots: number,
  ) {}

  /** One more of `owner`'s deliveries waits for an attempt (queued, or a retry scheduled); answers its priority. */
  async waiting(owner: string): Promise<number> {
    const counted = await this.redis.multi().hincrby(WAITING_KEY, owner, 1).expire(WAITING_KEY, WAITING_TTL_SECONDS).exec();
    return Math.min(MAX_PRIORITY, Math.max(1, Number(counted?.[0]?.[1] ?? 1)));
  }

  /**
   * `owner`'s delivery `jobId` no longer waits (it is being attempted, or given up), nor is
   * it parked: a stale wake must not promote it later, when it may be waiting out a retry.
   */
  async taken(owner: string, jobId: string): Promise<void> {
    await this.redis.multi().hincrby(WAITING_KEY, owner, -1).srem(parkedSet(owner), jobId).exec();
  }

  /** Takes one of this node's slots for `owner`; false when it holds its share already. */
  enter(owner: string): boolean {
    const held = this.inFlight.get(owner) ?? 0;
    if (held >= this.ownerSlots) return false;
    this.inFlight.set(owner, held + 1);
    return true;
  }

  /** Gives back a slot `enter` gave. */
  leave(owner: string): void {
    const held = (this.inFlight.get(owner) ?? 1) - 1;
    if (held <= 0) this.inFlight.delete(owner);
    else this.inFlight.set(owner, held);
  }

  /** Lists `jobId` as parked under `owner` (before it is moved to the delayed set, so no park goes unlisted). */
  async park(owner: string, jobId: string): Promise<void> {
    const [list, set] = [parkedList(owner), parkedSet(owner)];
    await this.redis.multi().rpush(list, jobId).sadd(set, jobId).expire(list, PARKED_TTL_SECONDS).expire(set, PARKED_TTL_SECONDS).exec();
  }

  /** The oldest of `owner`'s deliveries still parked, now no longer listed; undefined when none is. */
  async nextParked(owner: string): Promise<string | undefined> {
    const id = await this.redis.eval(NEXT_PARKED, 2, parkedList(owner), parkedSet(owner), WAKE_SCAN);
    return typeof id === 'string' ? id : undefined;
  }
}

function parkedList(owner: string): string {
  return `${QUEUE_PREFIX}:webhook-parked:${owner}`;
}

function parkedSet(owner: string): string {
  return `${QUEUE_PREFIX}:webhook-parked-ids:${owner}`;
}
