-- One all-or-nothing check of a request's limits, on Redis' own clock.
--
-- KEYS[i]   the i-th item's key (prefix included).
-- ARGV      four arguments per item, in the order of KEYS:
--             rate:  'r', interval_us, burst, max_delay_us
--             quota: 'q', limit, ttl_us, 0
--           every number a decimal integer below 2^53 (the caller clamps), so
--           Lua's doubles hold them, and every sum and product below, exactly.
--
-- Returns {admitted, delay_us, then per item: admitted, remaining, reset_us,
-- retry_us}. Only when every item admits is anything written: a rate item's
-- new theoretical arrival time (SET PX, living until it no longer matters), a
-- quota item's INCR (PEXPIRE on creation). An item whose key appears again
-- later in the same check sees the earlier item's effect.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- floor(a / b) for integers 0 <= a < 2^53, b >= 1 (corrected, never off by one).
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

-- An integer as Redis needs it (tostring would write 1.7e+15).
local function int(x)
  return string.format('%.0f', x)
end

local n = #KEYS
local all = true
local delay = 0
local pending = {}
local new_tat = {}
local out = {0, 0}

for i = 1, n do
  local key = KEYS[i]
  local base = 4 * (i - 1)
  local kind = ARGV[base + 1]
  local a = tonumber(ARGV[base + 2])
  local b = tonumber(ARGV[base + 3])
  local c = tonumber(ARGV[base + 4])
  local admitted, remaining, reset, retry = 0, 0, 0, 0
  if kind == 'r' then
    local interval, burst, max_delay = a, b, c
    local tat = pending[key]
    if tat == nil then
      tat = tonumber(redis.call('GET', key))
    end
    if tat == nil or tat < now then
      tat = now
    end
    local next_tat = tat + interval
    -- When this request conforms, relative to now (negative: it already does).
    local allow = next_tat - burst * interval - now
    if allow <= max_delay then
      admitted = 1
      if allow > 0 then
        if allow > delay then
          delay = allow
        end
      else
        remaining = idiv(burst * interval - (next_tat - now), interval)
      end
      reset = next_tat - now
      pending[key] = next_tat
      new_tat[i] = next_tat
    else
      all = false
      reset = tat - now
      retry = allow - max_delay
    end
  else
    local limit = a
    local count = pending[key]
    if count == nil then
      count = tonumber(redis.call('GET', key)) or 0
    end
    if count + 1 <= limit then
      admitted = 1
      remaining = limit - count - 1
      pending[key] = count + 1
    else
      all = false
    end
  end
  out[#out + 1] = admitted
  out[#out + 1] = remaining
  out[#out + 1] = reset
  out[#out + 1] = retry
end

if all then
  for i = 1, n do
    local key = KEYS[i]
    local base = 4 * (i - 1)
    if ARGV[base + 1] == 'r' then
      local ms = idiv(new_tat[i] - now + 999, 1000)
      if ms < 1 then
        ms = 1
      end
      redis.call('SET', key, int(new_tat[i]), 'PX', int(ms))
    else
      local v = redis.call('INCR', key)
      if v == 1 then
        local ms = idiv(tonumber(ARGV[base + 3]) + 999, 1000)
        if ms < 1 then
          ms = 1
        end
        redis.call('PEXPIRE', key, int(ms))
      end
    end
  end
  out[1] = 1
  out[2] = delay
end

return out
