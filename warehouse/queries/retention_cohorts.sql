-- Weekly viewer retention: viewers grouped by the week they first joined any room, and how
-- many came back in each following week.
-- param from_day: first UTC day of the cohorts (inclusive)
-- param to_day: last UTC day observed (inclusive)
WITH activity AS (
    SELECT user_id, toMonday(occurred_at) AS week
    FROM presence_events FINAL
    WHERE event_type = 'presence.joined' AND toDate(occurred_at) BETWEEN {from_day:Date} AND {to_day:Date}
    GROUP BY user_id, week
),
first_seen AS (
    SELECT user_id, min(week) AS cohort FROM activity GROUP BY user_id
)
SELECT
    f.cohort AS cohort_week,
    intDiv(dateDiff('day', f.cohort, a.week), 7) AS weeks_later,
    uniqExact(a.user_id) AS viewers
FROM activity AS a
INNER JOIN first_seen AS f ON f.user_id = a.user_id
GROUP BY cohort_week, weeks_later
ORDER BY cohort_week, weeks_later
