-- Video transcoding (issue 6): progress of a running transcode and the decision taken.
--
-- transcode_progress: percent (0..100) of the running or last transcode, written every few
-- seconds by the transcode service; NULL before the service looked at the asset.
-- transcode_decision: 'transcoded' or 'skipped: <why>' (the original is already playable, so
-- playback serves it), so the jobs admin and users can see why a video has no encoded file.

ALTER TABLE asset_job_status
    ADD COLUMN transcode_progress real,
    ADD COLUMN transcode_decision text;
