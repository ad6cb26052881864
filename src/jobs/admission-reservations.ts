import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { JobKind } from './job-model.js';

/**
 * Places in the capture queue, reserved atomically in Redis: one script counts the jobs
 * of a kind that wait and, when there is room, reserves a place for one more, so that
 * no two nodes (nor two requests of one node) can both see the last place free. A
 * reservation is released when a worker takes the job, when the job is taken back, or
 * when adding it to the queue fails.
 *
 * A reservation is a member of a sorted set per kind (job id → when it lapses, ms), and
 * of one per kind and owner (its count orders jobs fairly, see CaptureQueue). Releasing
 * is removing the member: doing it twice (a job taken by a worker after it was taken
 * back, a worker lost and its job taken again) is harmless, so each reservation is let
 * go of exactly once. One that is never released (a node that died between reserving and
 * adding) lapses at its deadline: a synchronous capture's when its api node would have
 * taken it back (PAGESHOT_QUEUE_TIMEOUT_MS and a margin), an async job's after a job's
 * lifetime (PAGESHOT_JOB_RESULT_TTL), so no count can drift upwards for good.
 *
 * Synchronous captures also count the workers' free slots: PAGESHOT_MAX_QUEUE means
 * "captures that may wait beyond those running", as on a single node, so a place is
 * free while the waiting are fewer than PAGESHOT_MAX_QUEUE plus the slots no job holds.
 * Workers say how many slots they have (`announce`); the running jobs are BullMQ's
 * active list.
 */

/** `now` in Redis's clock (ms): nodes' clocks differ. */
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * KEYS: kind's set, owner's set, worker slots hash, active list. ARGV: id, max waiting,
 * hold ms, count free slots (1/0). Answers {1, owner's waiting} or {0, waiting}.
 */
const ADMIT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local waiting = redis.call('ZCARD', KEYS[1])
local room = tonumber(ARGV[2])
if ARGV[4] == '1' then
  local slots = 0
  local workers = redis.call('HGETALL', KEYS[3])
  for i = 1, #workers, 2 do
    local count, untilMs = string.match(workers[i + 1], '^(%d+):(%d+)$')
    if count and tonumber(untilMs) > now then slots = slots + tonumber(count) else redis.call('HDEL', KEYS[3], workers[i]) end
  end
  local free = slots - redis.call('LLEN', KEYS[4])
  if free > 0 then room = room + free end
end
if waiting >= room then return {0, waiting} end
local deadline = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], deadline, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], deadline, ARGV[1])
for i = 1, 2 do
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 or now + ttl < deadline then redis.call('PEXPIREAT', KEYS[i], deadline) end
end
return {1, redis.call('ZCARD', KEYS[2])}
`;

/** KEYS: kind's set. Answers the reservations that have not lapsed. */
const COUNT = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

/** KEYS: slots hash. Answers the slots of the announcements that hold now. */
const SLOTS = `${NOW}
local slots = 0
local workers = redis.call('HGETALL', KEYS[1])
for i = 1, #workers, 2 do
  local count, untilMs = string.match(workers[i + 1], '^(%d+):(%d+)$')
  if count and tonumber(untilMs) > now then slots = slots + tonumber(count) end
end
return slots
`;

/** KEYS: slots hash. ARGV: worker, slots, ms the announcement holds. */
const ANNOUNCE = `${NOW}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + tonumber(ARGV[3])))
return 1
`;

/** How long a worker's announcement of its slots holds; it renews it three times as often. */
const ANNOUNCE_HOLD_MS = 15_000;

interface AdmissionCommands {
  queueAdmit(kindKey: string, ownerKey: string, slotsKey: string, activeKey: string, id: string, max: number, holdMs: number, countSlots: 0 | 1): Promise<[number, number]>;
  queueWaiting(kindKey: string): Promise<number>;
  queueAnnounce(slotsKey: string, worker: string, slots: number, holdMs: number): Promise<number>;
  queueSlots(slotsKey: string): Promise<number>;
}

/** The answer to a request for a place: admitted (with how many of the owner's wait), or not (with how many wait). */
export type Admission = { admitted: true; ownerWaiting: number } | { admitted: false; waiting: number };

/** The reservations of one queue. */
export class AdmissionReservations {
  private readonly commands: AdmissionCommands;

  /**
   * @param prefix the queue's key prefix
   * @param activeKey BullMQ's list of the jobs workers hold now
   */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly activeKey: string,
  ) {
    redis.defineCommand('queueAdmit', { numberOfKeys: 4, lua: ADMIT });
    redis.defineCommand('queueWaiting', { numberOfKeys: 1, lua: COUNT });
    redis.defineCommand('queueAnnounce', { numberOfKeys: 1, lua: ANNOUNCE });
    redis.defineCommand('queueSlots', { numberOfKeys: 1, lua: SLOTS });
    this.commands = redis as unknown as AdmissionCommands;
  }

  private kindKey(kind: JobKind): string {
    return `${this.prefix}:waiting:${kind}`;
  }

  private ownerKey(kind: JobKind, owner: string): string {
    return `${this.prefix}:waiting:${kind}:${owner}`;
  }

  private get slotsKey(): string {
    return `${this.prefix}:worker-slots`;
  }

  /**
   * Reserves a place for job `id` when fewer than `maxWaiting` jobs of `kind` wait (plus
   * the workers' free slots, for synchronous captures); it lapses after `holdMs`.
   */
  async admit(id: string, kind: JobKind, owner: string, maxWaiting: number, holdMs: number): Promise<Admission> {
    const countSlots = kind === 'sync' ? 1 : 0;
    const [admitted, count] = await this.commands.queueAdmit(this.kindKey(kind), this.ownerKey(kind, owner), this.slotsKey, this.activeKey, id, maxWaiting, Math.ceil(holdMs), countSlots);
    return Number(admitted) === 1 ? { admitted: true, ownerWaiting: Number(count) } : { admitted: false, waiting: Number(count) };
  }

  /** Lets go of job `id`'s place; doing it again does nothing. */
  async release(id: string, kind: JobKind, owner: string): Promise<void> {
    await this.redis.multi().zrem(this.kindKey(kind), id).zrem(this.ownerKey(kind, owner), id).exec();
  }

  /** Jobs of `kind` holding a place now, cluster-wide. */
  async waiting(kind: JobKind): Promise<number> {
    return Number(await this.commands.queueWaiting(this.kindKey(kind)));
  }

  /** Capture slots the workers announce now, cluster-wide (lapsed announcements left out). */
  async announcedSlots(): Promise<number> {
    return Number(await this.commands.queueSlots(this.slotsKey));
  }

  /**
   * Says, every few seconds until stopped, that a worker with `slots` capture slots takes
   * jobs; a worker that dies stops counting within ANNOUNCE_HOLD_MS.
   */
  announce(slots: number): { stop: () => Promise<void> } {
    const worker = randomBytes(8).toString('hex');
    const tell = () => this.commands.queueAnnounce(this.slotsKey, worker, slots, ANNOUNCE_HOLD_MS).catch(() => undefined);
    void tell();
    const timer = setInterval(tell, ANNOUNCE_HOLD_MS / 3);
    timer.unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await this.redis.hdel(this.slotsKey, worker).catch(() => undefined);
      },
    };
  }
}
