-- Count each gift of a batch once and read its sender's windows, in order, in one call.
-- KEYS, five per gift: its seen gate, the sender's gifts this minute, coins this hour, coins to
-- the creator this hour, and the sender's first-seen time. ARGV: now (s), then each gift's coins.
-- Returns four integers per gift: gifts this minute, coins this hour, coins to the creator this
-- hour, first seen (s). A gift whose gate is already set (delivered again) adds nothing.
local now = ARGV[1]
local out = {}
for g = 0, #KEYS / 5 - 1 do
  local k = g * 5
  local gifts_minute, coins_hour, pair_hour, first_seen = KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  local coins = tonumber(ARGV[g + 2])
  if redis.call('SET', KEYS[k + 1], 1, 'NX', 'EX', 7200) then
    redis.call('INCR', gifts_minute)
    redis.call('EXPIRE', gifts_minute, 120)
    redis.call('INCRBY', coins_hour, coins)
    redis.call('EXPIRE', coins_hour, 7200)
    redis.call('INCRBY', pair_hour, coins)
    redis.call('EXPIRE', pair_hour, 7200)
  end
  redis.call('SET', first_seen, now, 'NX', 'EX', 30 * 24 * 3600)
  out[#out + 1] = tonumber(redis.call('GET', gifts_minute) or 0)
  out[#out + 1] = tonumber(redis.call('GET', coins_hour) or 0)
  out[#out + 1] = tonumber(redis.call('GET', pair_hour) or 0)
  out[#out + 1] = tonumber(redis.call('GET', first_seen))
end
return out
