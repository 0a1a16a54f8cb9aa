-- Named statements of the fraud agent's screening record (streams/fraud/decisions.py).

-- name: screenings
SELECT gift_id, decision, rules, screened_at, room_problem FROM fraud_gift_screenings WHERE gift_id = ANY(%(ids)s::uuid[]);

-- name: record_screenings
INSERT INTO fraud_gift_screenings (gift_id, decision, rules, room_problem)
SELECT id, decision, CASE WHEN rules = '' THEN '{}'::text[] ELSE string_to_array(rules, ',') END, room_problem
FROM unnest(%(ids)s::uuid[], %(decisions)s::text[], %(rules)s::text[], %(room_problems)s::text[])
    AS u (id, decision, rules, room_problem)
ON CONFLICT (gift_id) DO NOTHING
RETURNING gift_id, decision, rules, screened_at, room_problem;
