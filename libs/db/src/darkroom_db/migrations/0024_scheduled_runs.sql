-- Runs of the scheduled tasks (Immich's nightly tasks and the tasks on their own cron; issue #15
-- item 4; darkroom_db.scheduled_runs). One row per task and due time is the lease that lets
-- exactly one replica run each scheduled time: the first INSERT wins, the others conflict. The
-- holder refreshes heartbeat_at while it runs; a row unfinished whose heartbeat is older than the
-- lease timeout is taken over by another replica (attempts counts the takers).

CREATE TABLE scheduled_runs (
    -- the task's name (database-cleanup, generate-memories, ...)
    task text NOT NULL,
    -- the scheduled time this run is for (not when it started)
    due_at timestamptz NOT NULL,
    -- the replica that holds (or held) the run: host, pid and a random suffix
    claimed_by text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    -- 1, plus one per takeover after the holder stopped heartbeating
    attempts integer NOT NULL DEFAULT 1,
    finished_at timestamptz,
    -- what the run reports (counts), or the error that ended it
    result jsonb,
    error text,
    PRIMARY KEY (task, due_at)
);
