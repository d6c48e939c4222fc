"""The Redis store's server-side functions (Redis 7 `FUNCTION LOAD`, Valkey too).

Each call touches one app's keys only, all in one hash slot (`{app}`), so
they run on Redis Cluster as well. `wf_append` is the only write: it
assigns the batch's sequence numbers, pushes, trims the ring, refreshes the
idle TTL and publishes the batch to the app's feed channel, atomically,
in one round trip per app per frame.
"""

from __future__ import annotations

LIBRARY = "wflogger"

FUNCTIONS = f"""#!lua name={LIBRARY}

-- KEYS: lines, seq, feed channel
-- ARGV: capacity, ttl seconds (0: none), seq before the first line if the
--       app is new, the replica id packed (msgpack), the lines packed
--       (one msgpack array: one argument, however many lines)
-- Returns {{first seq, lines displaced, lines held}}.
local function append(keys, args)
  local lines = cmsgpack.unpack(args[5])
  local count = #lines
  redis.call('SET', keys[2], args[3], 'NX')
  local last = redis.call('INCRBY', keys[2], count)
  local first = last - count + 1
  local capacity = tonumber(args[1])
  local held = 0
  -- unpack() is bounded by the Lua stack: push in slices.
  for i = 1, count, 1000 do
    held = redis.call('RPUSH', keys[1], unpack(lines, i, math.min(i + 999, count)))
  end
  local displaced = 0
  if held > capacity then
    displaced = held - capacity
    redis.call('LTRIM', keys[1], -capacity, -1)
    held = capacity
  end
  local ttl = tonumber(args[2])
  if ttl > 0 then
    redis.call('EXPIRE', keys[1], ttl)
    redis.call('EXPIRE', keys[2], ttl)
  end
  -- Three msgpack values back to back: replica id, first seq, the lines as sent.
  redis.call('PUBLISH', keys[3], args[4] .. cmsgpack.pack(first) .. args[5])
  return {{first, displaced, held}}
end

-- KEYS: lines, seq
-- ARGV: newest lines wanted (-1: all), after seq ('' for none)
-- Returns {{last seq, lines held, line...}}, or {{}} for an unknown app.
local function read(keys, args)
  local last = redis.call('GET', keys[2])
  if not last then return {{}} end
  last = tonumber(last)
  local held = redis.call('LLEN', keys[1])
  local first_held = last - held + 1
  local start = 0
  if args[2] ~= '' then
    start = math.max(0, math.min(held, tonumber(args[2]) - first_held + 1))
  end
  local limit = tonumber(args[1])
  if limit >= 0 and held - start > limit then start = held - limit end
  local reply = {{last, held}}
  if start < held then
    local lines = redis.call('LRANGE', keys[1], start, -1)
    for i = 1, #lines do reply[i + 2] = lines[i] end
  end
  return reply
end

redis.register_function('wf_append', append)
redis.register_function{{function_name='wf_read', callback=read, flags={{'no-writes'}}}}
"""
