-- The timeline's month counts kept as they change (issue #20 item 1).
--
-- GET /api/timeline/buckets counted every asset of the user on each call: an index-only scan of
-- assets_timeline_month_idx, ~170 ms for a user with 1,000,000 assets. Now the counts are kept
-- per owner, capture month and the columns the main timeline filters on (status, visibility,
-- favourite), in two tables whose sum is the count:
--
-- * asset_month_count_deltas: what each statement that changed assets added or removed, one
--   row per (key, statement) written by statement-level triggers with transition tables. Only
--   INSERTs: a writer never waits for another (counting into shared rows from the uploads'
--   own transactions made them wait on each other and deadlock: an upload holding a month's
--   row while it stacks a burst whose other member's transaction waits for that row);
-- * asset_month_counts: the deltas folded in, by darkroom_timeline_counts_fold(owner) (the
--   gateway folds an owner's deltas when they pile up; see darkroom_db.timeline), one folder
--   per owner at a time (an advisory lock).
--
-- Assets are only ever counted from their own rows' changes, so a retried transaction or a
-- redelivered event cannot count twice. darkroom_timeline_counts_rebuild() recounts everything
-- from the assets (here, and after a bulk load made with triggers off, as bench/timeline.py).
--
-- The month expression must stay identical to darkroom_db.timeline.MONTH_OF_CAPTURE.

CREATE TABLE asset_month_counts (
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    month timestamp NOT NULL,
    status text NOT NULL,
    visibility text NOT NULL,
    is_favorite boolean NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (owner_id, month, status, visibility, is_favorite)
);

CREATE TABLE asset_month_count_deltas (
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    month timestamp NOT NULL,
    status text NOT NULL,
    visibility text NOT NULL,
    is_favorite boolean NOT NULL,
    d bigint NOT NULL
);
CREATE INDEX asset_month_count_deltas_owner_idx ON asset_month_count_deltas (owner_id);

-- One function for the three triggers (a trigger with transition tables takes one event, by
-- PostgreSQL's rule); the statement's rows come from the transition tables its trigger names,
-- +1 for a row as it is now, -1 for a row as it was. An UPDATE that changes none of the counted
-- columns (most do not: metadata, thumbhash...) cancels out in the HAVING and writes nothing.
CREATE FUNCTION darkroom_timeline_counts_record() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    now_rows CONSTANT text := 'SELECT owner_id, local_date_time, status, visibility, '
        'is_favorite, 1 AS d FROM darkroom_new_assets';
    was_rows CONSTANT text := 'SELECT owner_id, local_date_time, status, visibility, '
        'is_favorite, -1 AS d FROM darkroom_old_assets';
BEGIN
    EXECUTE format($q$
        INSERT INTO asset_month_count_deltas (owner_id, month, status, visibility, is_favorite, d)
        SELECT owner_id, date_trunc('month', local_date_time AT TIME ZONE 'UTC'), status,
               visibility, is_favorite, sum(d)
        FROM (%s) changed
        -- a user being deleted takes their counts with them (the cascade to their assets
        -- runs after their row is gone): nothing to record for them
        WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = changed.owner_id)
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(d) <> 0
        $q$,
        CASE TG_OP
            WHEN 'INSERT' THEN now_rows
            WHEN 'DELETE' THEN was_rows
            ELSE now_rows || ' UNION ALL ' || was_rows
        END);
    RETURN NULL;
END;
$fn$;

CREATE TRIGGER assets_month_counts_insert AFTER INSERT ON assets
    REFERENCING NEW TABLE AS darkroom_new_assets
    FOR EACH STATEMENT EXECUTE FUNCTION darkroom_timeline_counts_record();
CREATE TRIGGER assets_month_counts_update AFTER UPDATE ON assets
    REFERENCING OLD TABLE AS darkroom_old_assets NEW TABLE AS darkroom_new_assets
    FOR EACH STATEMENT EXECUTE FUNCTION darkroom_timeline_counts_record();
CREATE TRIGGER assets_month_counts_delete AFTER DELETE ON assets
    REFERENCING OLD TABLE AS darkroom_old_assets
    FOR EACH STATEMENT EXECUTE FUNCTION darkroom_timeline_counts_record();

-- Fold the owner's deltas into the counts. Returns false (and does nothing) when another
-- session is folding them already. Deltas committed meanwhile are not seen, so not deleted:
-- the next fold takes them.
CREATE FUNCTION darkroom_timeline_counts_fold(owner uuid) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('timeline-counts:' || owner::text, 0)) THEN
        RETURN false;
    END IF;
    WITH moved AS (
        DELETE FROM asset_month_count_deltas WHERE owner_id = owner
        RETURNING owner_id, month, status, visibility, is_favorite, d
    )
    INSERT INTO asset_month_counts AS c (owner_id, month, status, visibility, is_favorite, n)
    SELECT owner_id, month, status, visibility, is_favorite, sum(d) FROM moved
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (owner_id, month, status, visibility, is_favorite)
    DO UPDATE SET n = c.n + EXCLUDED.n;
    DELETE FROM asset_month_counts WHERE owner_id = owner AND n = 0;
    RETURN true;
END;
$fn$;

-- Recount from the assets themselves (the migration's first fill; after a bulk load made with
-- triggers off). Holds off writers to assets while it counts.
CREATE FUNCTION darkroom_timeline_counts_rebuild() RETURNS void LANGUAGE sql AS $$
    LOCK TABLE assets IN SHARE MODE;
    DELETE FROM asset_month_count_deltas;
    DELETE FROM asset_month_counts;
    INSERT INTO asset_month_counts (owner_id, month, status, visibility, is_favorite, n)
    SELECT owner_id, date_trunc('month', local_date_time AT TIME ZONE 'UTC'), status,
           visibility, is_favorite, count(*)
    FROM assets GROUP BY 1, 2, 3, 4, 5;
$$;
DO $$ BEGIN PERFORM darkroom_timeline_counts_rebuild(); END $$;

-- withStacked leaves out the non-primary members of stacks: few, counted live per call.
CREATE INDEX assets_stacked_owner_idx ON assets (owner_id) WHERE stack_id IS NOT NULL;
