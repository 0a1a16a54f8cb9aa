-- A gift the room refused (not open or not the creator's, or the sender banned there) carries
-- that as a typed field of its screening, no longer as the first of its "rules". Screenings
-- recorded before keep their decision; their room refusal moves to the new column.
ALTER TABLE fraud_gift_screenings
    ADD COLUMN room_problem text CHECK (room_problem IN ('unknown_creator', 'sender_banned'));

UPDATE fraud_gift_screenings
SET room_problem = rules[1], rules = '{}'
WHERE decision = 'block' AND rules[1] IN ('unknown_creator', 'sender_banned');
