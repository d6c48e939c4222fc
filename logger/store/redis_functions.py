"""The Redis store's server-side functions (Redis 7 `FUNCTION LOAD`, Valkey too).

`wf2_append` touches one app's keys only, all in one hash slot (`{app}`),
so it runs on Redis Cluster as well; it is the write of the per-app path:
it assigns the batch's sequence numbers, pushes, trims the ring, refreshes
the idle TTL and publishes the batch to the app's feed channel, atomically.
`wf2_append_frame` does the same for every app of a frame in one call: keys
of many slots, so only for a standalone Redis (the store checks `INFO
cluster` before it uses it).

The library is versioned (`wflogger2`, functions `wf2_*`): a replica of an
earlier version keeps calling its own library, with its own arguments,
while both kinds run during a rolling update.
"""

from __future__ import annotations

LIBRARY = "wflogger2"
APPEND = "wf2_append"
APPEND_FRAME = "wf2_append_frame"
READ = "wf2_read"
# The keys each app passes to an append, in this order.
KEYS_PER_APP = 4

FUNCTIONS = f"""#!lua name={LIBRARY}

-- One app's batch. lines, seq, start: its keys; feed: its channel;
-- before_first / first_if_new: the numbers a new ring starts from (the
-- clock), as strings (Lua numbers print in 14 digits); replica: the replica
-- id packed (msgpack); packed: the lines (one msgpack array); refresh: the
-- client asks for the TTL to be set again (a new ring always sets it). Every
-- redis.call costs a few microseconds beyond its command: the TTL's three
-- EXPIREs were the most of a call, so the client asks only now and then.
-- Returns first seq, lines displaced, lines held.
local function append_one(lines_key, seq_key, start_key, feed, capacity, ttl,
                          before_first, first_if_new, replica, packed, refresh)
  local lines = cmsgpack.unpack(packed)
  local count = #lines
  -- Numbers come from the clock, never this small: count means a new ring
  -- (one command where SET NX and INCRBY took two).
  local last = redis.call('INCRBY', seq_key, count)
  if last == count then
    refresh = true
    last = redis.call('INCRBY', seq_key, before_first)
    -- The ring's first number ever: what a resume from before it missed.
    redis.call('SET', start_key, first_if_new)
  end
  local first = last - count + 1
  local held = 0
  -- unpack() is bounded by the Lua stack: push in slices.
  for i = 1, count, 1000 do
    held = redis.call('RPUSH', lines_key, unpack(lines, i, math.min(i + 999, count)))
  end
  local displaced = 0
  if held > capacity then
    displaced = held - capacity
    redis.call('LTRIM', lines_key, -capacity, -1)
    held = capacity
  end
  if refresh and ttl > 0 then
    redis.call('EXPIRE', lines_key, ttl)
    redis.call('EXPIRE', seq_key, ttl)
    redis.call('EXPIRE', start_key, ttl)
  end
  -- Three msgpack values back to back: replica id, first seq, the lines as sent.
  redis.call('PUBLISH', feed, replica .. cmsgpack.pack(first) .. packed)
  return first, displaced, held
end

-- KEYS: lines, seq, start, feed channel
-- ARGV: capacity, ttl seconds (0: none), before_first, first_if_new,
--       the replica id packed, refresh the TTL ('1' or '0'), the lines packed
-- Returns {{first seq, lines displaced, lines held}}.
local function append(keys, args)
  local first, displaced, held = append_one(keys[1], keys[2], keys[3], keys[4],
    tonumber(args[1]), tonumber(args[2]), args[3], args[4], args[5], args[7], args[6] == '1')
  return {{first, displaced, held}}
end

-- Every app of a frame (standalone Redis only: the keys span many slots).
-- KEYS: lines, seq, start, feed channel of each app in turn
-- ARGV: capacity, ttl, before_first, first_if_new, the replica id packed,
--       refresh the TTL: one '1' or '0' per app, then each app's lines
--       packed, in the order of its keys
-- Returns first seq, lines displaced, lines held of each app, flat.
local function append_frame(keys, args)
  local capacity, ttl, refresh = tonumber(args[1]), tonumber(args[2]), args[6]
  local reply = {{}}
  for i = 1, #keys / {KEYS_PER_APP} do
    local k = (i - 1) * {KEYS_PER_APP}
    local first, displaced, held = append_one(keys[k + 1], keys[k + 2], keys[k + 3],
      keys[k + 4], capacity, ttl, args[3], args[4], args[5], args[6 + i],
      string.byte(refresh, i) == 49)
    reply[k - i + 2] = first
    reply[k - i + 3] = displaced
    reply[k - i + 4] = held
  end
  return reply
end

-- KEYS: lines, seq, start
-- ARGV: newest lines wanted (-1: all), after seq ('' for none)
-- Returns {{last seq, lines held, the ring's first seq (0: unknown), line...}},
-- or {{}} for an unknown app.
local function read(keys, args)
  local last = redis.call('GET', keys[2])
  if not last then return {{}} end
  last = tonumber(last)
  local held = redis.call('LLEN', keys[1])
  local start_seq = redis.call('GET', keys[3]) or 0
  local first_held = last - held + 1
  local start = 0
  if args[2] ~= '' then
    start = math.max(0, math.min(held, tonumber(args[2]) - first_held + 1))
  end
  local limit = tonumber(args[1])
  if limit >= 0 and held - start > limit then start = held - limit end
  local reply = {{last, held, start_seq}}
  if start < held then
    local lines = redis.call('LRANGE', keys[1], start, -1)
    for i = 1, #lines do reply[i + 3] = lines[i] end
  end
  return reply
end

redis.register_function('{APPEND}', append)
redis.register_function('{APPEND_FRAME}', append_frame)
redis.register_function{{function_name='{READ}', callback=read, flags={{'no-writes'}}}}
"""
