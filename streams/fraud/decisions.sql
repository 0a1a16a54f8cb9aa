-- Named statements of the fraud agent's screening record (streams/fraud/decisions.py).

-- name: screenings
SELECT gift_id, decision, rules, screened_at FROM fraud_gift_screenings WHERE gift_id = ANY(%(ids)s::uuid[]);

-- name: record_screenings
INSERT INTO fraud_gift_screenings (gift_id, decision, rules)
SELECT id, decision, CASE WHEN rules = '' THEN '{}'::text[] ELSE string_to_array(rules, ',') END
FROM unnest(%(ids)s::uuid[], %(decisions)s::text[], %(rules)s::text[]) AS u (id, decision, rules)
ON CONFLICT (gift_id) DO NOTHING
RETURNING gift_id, decision, rules, screened_at;
