-- OAuth/OIDC sign-in (issue #18 item 1; darkroom_db.oauth).
--
-- One row per authorization the gateway started (POST /api/oauth/authorize), keyed by the
-- SHA-256 of its OAuth ``state``: the callback takes the row out (DELETE ... RETURNING), so a
-- state works once, on whichever gateway replica the callback reaches, and a replayed callback
-- finds nothing. The row keeps what must not travel through the browser: the OpenID Connect
-- ``nonce`` the ID token must carry and, when the client did not bring its own PKCE challenge
-- (the web app; the mobile app sends one and keeps its verifier), the PKCE code verifier.
CREATE TABLE oauth_authorizations (
    state_hash text PRIMARY KEY,
    nonce text NOT NULL,
    -- NULL when the client sent its own code challenge (it sends the verifier at the callback)
    code_verifier text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX oauth_authorizations_expires_idx ON oauth_authorizations (expires_at);

-- One Darkroom account per OAuth subject (Immich's users.oauthId; '' means not linked).
CREATE UNIQUE INDEX users_oauth_id_key ON users (oauth_id) WHERE oauth_id <> '';

-- The provider's session id (ID token ``sid``) of a session started through OAuth, so a
-- back-channel logout naming it ends exactly that session.
ALTER TABLE sessions ADD COLUMN oauth_sid text;
CREATE INDEX sessions_oauth_sid_idx ON sessions (oauth_sid) WHERE oauth_sid IS NOT NULL;
