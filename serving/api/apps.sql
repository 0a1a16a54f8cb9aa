-- The apps' ClickHouse queries (serving/api/warehouse_reads.py), bound by the server.

-- name: LIVE_STREAMS
-- Streams started and not ended in the last day, with the latest occupancy of their room.
SELECT s.stream_id AS stream_id, s.creator_id AS creator_id, s.room_id AS room_id,
       s.started_at AS started_at, ifNull(o.viewers, 0) AS viewers
FROM
(
    SELECT stream_id,
           argMax(creator_id, occurred_at) AS creator_id,
           argMax(room_id, occurred_at) AS room_id,
           maxIf(occurred_at, event_type = 'stream.started') AS started_at,
           maxIf(occurred_at, event_type = 'stream.ended') AS ended_at
    FROM stream_lifecycle
    WHERE occurred_at >= now64(3) - INTERVAL 1 DAY AND event_type IN ('stream.started', 'stream.ended')
    GROUP BY stream_id
    HAVING started_at > ended_at
) AS s
LEFT JOIN
(
    SELECT room_id, argMax(viewers, occurred_at) AS viewers
    FROM room_occupancy
    WHERE occurred_at >= now64(3) - INTERVAL 2 MINUTE
    GROUP BY room_id
) AS o ON o.room_id = s.room_id
ORDER BY viewers DESC, started_at DESC
LIMIT {limit:UInt32}
