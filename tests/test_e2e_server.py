"""Replays Immich's e2e/src/api/specs/server.e2e-spec.ts (3.x: e2e/src/specs/server/api/).

Checked here (authentication, admin-only refusals, ping/version/features/config/statistics/
media types/theme and the licence round trip are covered by test_server_auth_users.py and
test_server_metadata.py): ``PUT /api/server/license`` refuses, 400 ``Invalid license key``, an
activation key that cannot be a signature (the spec's valid key with ``invalid`` in front),
and stores the spec's own key, answering it with ``activatedAt``.

Not replayed: ``GET /api/server/about``'s build fields (Immich's e2e image sets them from its CI
build; Darkroom reports its own), and ``GET /api/server/features``' ``facialRecognition``/
``ocr``/``smartSearch`` (Immich's e2e runs without machine learning; Darkroom's stack runs its
face and OCR services).
"""

from __future__ import annotations

from .conftest import User

#: The server licence of Immich's e2e spec file.
LICENSE = {
    "licenseKey": "IMSV-6ECZ-91TE-WZRM-Q7AQ-MBN4-UW48-2CPT-71X9",
    "activationKey": (
        "4kJUNUWMq13J14zqPFm1NodRcI6MV6DeOGvQNIgrM8Sc9nv669wyEVvFw1Nz4Kb1W7zLWblOtXEQzpRRqC4r4fKje"
        "wJxfbpeo9sEsqAVIfl4Ero-Vp1Dg21-sVdDGZEAy2oeTCXAyCT5d1JqrqR6N1qTAm4xOx9ujXQRFYhjRG8uwudw7"
        "_Q49pF18Tj5OEv9qCqElxztoNck4i6O_azsmsoOQrLIENIWPh3EynBN3ESpYERdCgXO8MlWeuG14_V1HbNjnJPZD"
        "uvYg__YfMzoOEtfm1sCqEaJ2Ww-BaX7yGfuCL4XsuZlCQQNHjfscy_WywVfIZPKCiW8QR74i0cSzQ"
    ),
}


def test_license_with_an_invalid_activation_key_is_refused(admin: User) -> None:
    """'should reject license with invalid activation key' and 'should set the server
    license'."""
    try:
        bad = {**LICENSE, "activationKey": "invalid" + LICENSE["activationKey"]}
        r = admin.client.put("/api/server/license", json=bad)
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "Invalid license key"
        assert admin.client.get("/api/server/license").status_code == 404  # nothing stored

        r = admin.client.put("/api/server/license", json=LICENSE)
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"licenseKey", "activationKey", "activatedAt"}
        assert {k: r.json()[k] for k in LICENSE} == LICENSE
        assert admin.client.get("/api/server/license").json() == r.json()
    finally:
        admin.client.delete("/api/server/license")
