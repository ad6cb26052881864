/**
 * The Lua run by Redis for each decision. One script does the whole read-decide-write
 * so no other request of the same caller can slip in between (Redis runs a script
 * atomically); it mirrors gcra.ts and decision.ts line for line, in the same µs.
 *
 * Notes on Lua in Redis (5.1, numbers are doubles):
 * - Times are read with redis.call('TIME') so every instance uses Redis's clock and
 *   instances with skewed clocks agree. Redis 5+ replicates a script's effects, not the
 *   script, so a non-deterministic TIME is allowed (Redis 7 does nothing else).
 * - tostring() prints 14 significant digits, which would round µs timestamps (16
 *   digits): numbers are written with string.format('%.0f').
 * - Returned numbers become integer replies; every value returned is a whole number.
 */

/**
 * KEYS[1] the caller's burst bucket (a string: GCRA's tat in µs), KEYS[2] its daily
 * counter (a hash: `day` = UTC day number, `used`).
 * ARGV: interval µs (0 = no rate limit), burst, daily (0 = no daily limit), now in µs
 * or '' for Redis's TIME, ms the daily key outlives its day, ms the bucket key outlives
 * the moment it is full again.
 * Returns { refused (0 none, 1 rate, 2 daily), retry µs, burst remaining, burst reset µs,
 * daily remaining, µs to next 00:00 UTC, now µs (the instant decided, for the reset epoch) }.
 */
export const CONSUME_SCRIPT = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local daily = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local DAY = 86400000000
local today = math.floor(now / DAY)
local untilMidnight = (today + 1) * DAY - now
local refused, retry = 0, 0

local tat, nextTat = 0, 0
if interval > 0 then
  tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  local tolerance = interval * burst
  nextTat = math.max(tat, now) + interval
  if nextTat - now > tolerance then
    refused = 1
    retry = nextTat - tolerance - now
  end
end

local used = 0
if daily > 0 then
  local stored = redis.call('HMGET', KEYS[2], 'day', 'used')
  if tonumber(stored[1]) == today then used = tonumber(stored[2]) or 0 end
  if used >= daily then
    refused = 2
    retry = math.max(retry, untilMidnight)
  end
end

if refused == 0 then
  if interval > 0 then
    tat = nextTat
    -- Once tat <= now the bucket is full, which is what a missing key reads as.
    local ttl = math.ceil((tat - now) / 1000) + tonumber(ARGV[6])
    redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', ttl))
  end
  if daily > 0 then
    used = used + 1
    redis.call('HSET', KEYS[2], 'day', string.format('%.0f', today), 'used', string.format('%.0f', used))
    redis.call('PEXPIRE', KEYS[2], string.format('%.0f', math.ceil(untilMidnight / 1000) + tonumber(ARGV[5])))
  end
end

local remaining, reset = 0, 0
if interval > 0 then
  local room = now + interval * burst - math.max(tat, now)
  local slots = math.floor(room / interval)
  if slots >= burst then
    remaining = burst
  else
    remaining = math.max(0, slots)
    reset = (remaining + 1) * interval - room
  end
end
return { refused, retry, remaining, reset, daily - used, untilMidnight, now }
`;

/**
 * KEYS[1] the caller's daily counter; ARGV[1] now in µs or '' for Redis's TIME.
 * Takes one unit off today's count, never below 0; a count of a past day is left alone.
 */
export const REFUND_SCRIPT = `
local now = tonumber(ARGV[1])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local stored = redis.call('HMGET', KEYS[1], 'day', 'used')
if tonumber(stored[1]) == math.floor(now / 86400000000) and (tonumber(stored[2]) or 0) > 0 then
  return redis.call('HINCRBY', KEYS[1], 'used', -1)
end
return 0
`;
