-- PIN code and locked folder (issue #18 item 2).
--
-- ``users.pin_code_hash``: bcrypt hash of the user's PIN code (Immich's ``user."pinCode"``),
-- NULL while none is set. ``sessions.pin_expires_at``: until when the session is unlocked
-- with the PIN (Immich's ``session."pinExpiresAt"``): it sees the user's locked assets while
-- this lies in the future; NULL when locked.

ALTER TABLE users ADD COLUMN pin_code_hash text;
ALTER TABLE sessions ADD COLUMN pin_expires_at timestamptz;
