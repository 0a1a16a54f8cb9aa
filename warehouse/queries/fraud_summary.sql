-- Fraud rule hits per day, rule and outcome, enforced apart from shadow (live aggregates).
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT day, rule, outcome, shadow, sum(alerts) AS alerts
FROM fraud_daily
WHERE day BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY day, rule, outcome, shadow
ORDER BY day, alerts DESC, rule
