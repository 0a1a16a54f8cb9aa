-- Named statements of the alert acknowledgements (streams/fraud/alert_acks.py).

-- name: ACK
WITH inserted AS (
    INSERT INTO alert_acks (alert_id, acked_by, note) VALUES (%(alert_id)s, %(by)s, %(note)s)
    ON CONFLICT (alert_id) DO NOTHING
    RETURNING alert_id, acked_by, note, acked_at
)
SELECT alert_id, acked_by, note, acked_at, true AS recorded_now FROM inserted
UNION ALL
SELECT alert_id, acked_by, note, acked_at, false FROM alert_acks WHERE alert_id = %(alert_id)s
LIMIT 1

-- name: ACKS
SELECT alert_id, acked_by, note, acked_at FROM alert_acks WHERE alert_id = ANY(%(ids)s::text[])
