-- Concurrent viewers of one stream per minute (playback sessions that started or sent a heartbeat).
-- param stream: the stream id (CMCD cid)
-- param day: the UTC day
SELECT
    minute,
    uniqExactMerge(viewers) AS concurrent_viewers
FROM qoe_stream_minute
WHERE cid = {stream:String}
  AND minute >= toDateTime({day:Date}, 'UTC') AND minute < toDateTime({day:Date}, 'UTC') + INTERVAL 1 DAY
GROUP BY minute
ORDER BY minute
