-- Login throttling, version 2: one counter row per (lower(email), client address) instead of one
-- row per failure, so that the gateway checks and counts an attempt in one atomic upsert
-- (darkroom_db.users.count_login_attempt) and concurrent wrong logins cannot all pass the check
-- before any of them is counted.
--
-- attempts: login attempts since window_start (each attempt is counted before its password is
-- checked; a successful login deletes the row). window_start: when the first attempt of the
-- current window came. Rows whose window has ended are pruned by the next attempt, whatever
-- their key, so the table holds at most the keys seen in the last window.
DROP TABLE login_failures;

CREATE TABLE login_attempts (
    key text PRIMARY KEY,
    attempts integer NOT NULL,
    window_start timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_window_start_idx ON login_attempts (window_start);
