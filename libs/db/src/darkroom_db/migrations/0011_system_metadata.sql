-- System metadata and licence keys (issue 13, items 3 and 4).
--
-- system_metadata: one JSON document per key, as Immich keeps its system metadata
-- (SystemMetadataKey): 'admin-onboarding' ({"isOnboarded": bool}), 'license' (the server licence:
-- {"licenseKey", "activationKey", "activatedAt"}), 'version-check-state' and
-- 'component-versions' ({"libvips": ..., "ffmpeg": ..., "exiv2": ...}: what each service
-- reports at start-up, merged, read by GET /api/server/about).
CREATE TABLE system_metadata (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A user's licence key (PUT /api/users/me/license), stored as given: Darkroom makes no
-- activation call.
CREATE TABLE user_licenses (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    license_key text NOT NULL,
    activation_key text NOT NULL,
    activated_at timestamptz NOT NULL DEFAULT now()
);
