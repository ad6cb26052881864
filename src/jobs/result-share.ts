import type { ChainableCommander, Redis } from 'ioredis';

/**
 * Each key's share of the result store, accounted in Redis: which results a key keeps,
 * how many bytes each, and until when.
 *
 * Per owner, a sorted set (job id → when its result expires, ms) and a hash (job id →
 * bytes, and the running total under `*total`). Every change is one Lua script, so no
 * crash can leave half of one; and nothing counted can stay counted forever: a result's
 * bytes are given back when it is deleted, or trimmed by the next script that reads the
 * account once its expiry has passed (the expiry in the set is the one its bytes were
 * stored with, taken from the same Redis clock). Both keys expire with their latest
 * result, so an owner that stops submitting leaves nothing behind. A result lost some
 * other way (evicted under `maxmemory`, deleted by hand) stays counted until its expiry:
 * an error on the safe side, and one that heals by itself.
 *
 * Times are Redis's (`TIME`), never a node's: nodes' clocks differ.
 */

/** Shared by the scripts: `now` in ms, and `trim`, which gives back what expired and answers the total. */
const PRELUDE = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function trim(held, sizes)
  local gone = redis.call('ZRANGEBYSCORE', held, '-inf', now, 'LIMIT', 0, 500)
  if #gone > 0 then
    local freed = 0
    for _, id in ipairs(gone) do freed = freed + tonumber(redis.call('HGET', sizes, id) or '0') end
    redis.call('HDEL', sizes, unpack(gone))
    redis.call('ZREM', held, unpack(gone))
    redis.call('HINCRBY', sizes, '*total', -freed)
  end
  if redis.call('ZCARD', held) == 0 then
    redis.call('DEL', held, sizes)
    return 0
  end
  return tonumber(redis.call('HGET', sizes, '*total') or '0')
end
-- When the total drops below limit, as results expire in order (ms; 0: not within 500 results).
local function freedAt(held, sizes, total, limit)
  local soonest = redis.call('ZRANGE', held, 0, 499, 'WITHSCORES')
  for i = 1, #soonest, 2 do
    total = total - tonumber(redis.call('HGET', sizes, soonest[i]) or '0')
    if total < limit then return tonumber(soonest[i + 1]) end
  end
  return 0
end
local function keepUntil(key, at)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or now + ttl < at then redis.call('PEXPIREAT', key, at) end
end
`;

/**
 * Runs inside the MULTI that has just SET the result: counts it in the owner's share, or,
 * when the share is already full, deletes it again. A share is full once its total
 * reaches the limit: the result that crosses it is kept (so a key keeps at most its share
 * plus one result, and a key that is full is one whose next job cannot keep anything,
 * which its submission is told at once). KEYS: result, held, sizes. ARGV: id, ttl ms,
 * limit (0: none). Answers {1, expiresAt} or {0, total, freedAt, now}.
 */
const ACCOUNT = `${PRELUDE}
local size = redis.call('STRLEN', KEYS[1])
local total = trim(KEYS[2], KEYS[3])
local previous = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
local limit = tonumber(ARGV[3])
if limit > 0 and total - previous >= limit then
  redis.call('DEL', KEYS[1])
  return {0, total, freedAt(KEYS[2], KEYS[3], total, limit), now}
end
local expiresAt = now + tonumber(ARGV[2])
redis.call('PEXPIREAT', KEYS[1], expiresAt)
redis.call('ZADD', KEYS[2], expiresAt, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], size)
redis.call('HINCRBY', KEYS[3], '*total', size - previous)
keepUntil(KEYS[2], expiresAt)
keepUntil(KEYS[3], expiresAt)
return {1, expiresAt}
`;

/** KEYS: result, held, sizes. ARGV: id. Deletes the result and gives its bytes back (once). */
const FORGET = `
redis.call('DEL', KEYS[1])
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  local size = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('HINCRBY', KEYS[3], '*total', -size)
end
return 1
`;

/** KEYS: held, sizes. ARGV: limit. Answers {total, freedAt, now}. */
const STANDING = `${PRELUDE}
local total = trim(KEYS[1], KEYS[2])
local limit = tonumber(ARGV[1])
local at = 0
if limit > 0 and total >= limit then at = freedAt(KEYS[1], KEYS[2], total, limit) end
return {total, at, now}
`;

/** How one owner's share stands. */
export interface ShareStanding {
  /** Bytes of results the owner keeps now. */
  storedBytes: number;
  /** Its share (0: no cap). */
  limitBytes: number;
  /** True when nothing more fits. */
  full: boolean;
  /** Seconds until enough of its results expire for the share to have room, when full. */
  retryAfterSeconds: number | undefined;
}

/** What storing a counted result came to. */
export type Accounted = { stored: true; expiresAt: number } | { stored: false; standing: ShareStanding };

type Reply = Array<number | string>;

interface ShareCommands {
  resultShareAccount(result: string, held: string, sizes: string, id: string, ttlMs: number, limit: number): Promise<Reply>;
  resultShareForget(result: string, held: string, sizes: string, id: string): Promise<number>;
  resultShareStanding(held: string, sizes: string, limit: number): Promise<Reply>;
}

/** The share account's scripts on one connection, and the keys of one owner. */
export class ResultShare {
  private readonly commands: ShareCommands;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('resultShareAccount', { numberOfKeys: 3, lua: ACCOUNT });
    redis.defineCommand('resultShareForget', { numberOfKeys: 3, lua: FORGET });
    redis.defineCommand('resultShareStanding', { numberOfKeys: 2, lua: STANDING });
    this.commands = redis as unknown as ShareCommands;
  }

  private keys(owner: string): [held: string, sizes: string] {
    return [`${this.prefix}:result-share:${owner}`, `${this.prefix}:result-share-bytes:${owner}`];
  }

  /**
   * Queues, on `transaction` (a MULTI that has just SET `resultKey`), the count of that
   * result in `owner`'s share; read the answer with `accounted`.
   */
  account(transaction: ChainableCommander, resultKey: string, id: string, owner: string, ttlMs: number, limitBytes: number): void {
    (transaction as unknown as ShareCommands).resultShareAccount(resultKey, ...this.keys(owner), id, ttlMs, limitBytes);
  }

  /** The answer of `account`'s script. */
  accounted(reply: Reply, limitBytes: number): Accounted {
    if (Number(reply[0]) === 1) return { stored: true, expiresAt: Number(reply[1]) };
    return { stored: false, standing: standing(Number(reply[1]), limitBytes, Number(reply[2]), Number(reply[3]), true) };
  }

  /** Deletes `resultKey` and gives its bytes back to `owner`'s share (once, however often it is called). */
  async forget(resultKey: string, id: string, owner: string): Promise<void> {
    await this.commands.resultShareForget(resultKey, ...this.keys(owner), id);
  }

  /** How `owner`'s share stands now (expired results given back first). */
  async standing(owner: string, limitBytes: number): Promise<ShareStanding> {
    const [total, freedAt, now] = (await this.commands.resultShareStanding(...this.keys(owner), limitBytes)).map(Number) as [number, number, number];
    return standing(total, limitBytes, freedAt, now, limitBytes > 0 && total >= limitBytes);
  }
}

function standing(storedBytes: number, limitBytes: number, freedAt: number, now: number, full: boolean): ShareStanding {
  // Past the 500 soonest results the script stops looking: say "later", not "never".
  const retryAfterSeconds = !full ? undefined : freedAt > 0 ? Math.max(1, Math.ceil((freedAt - now) / 1000)) : 3600;
  return { storedBytes, limitBytes, full, retryAfterSeconds };
}
