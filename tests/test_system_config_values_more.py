"""System config values and PUT validation, field by field against Immich 3.1.

* ``GET /api/system-config/defaults`` answers Immich's defaults (server ``defaults`` of its
  config: ``ffmpeg.accelDecode`` on, ``ffmpeg.realtime.videoCodecs`` H.264 and HEVC,
  ``ffmpeg.acceptedAudioCodecs`` AAC, MP3 and Opus...), except Darkroom's documented choices
  (``DARKROOM_DEFAULTS``: the dlib face model and its score scale, "optimal" transcoding into
  MP4, no release check) and what a ``DARKROOM_*`` variable of the stack sets.
* ``PUT /api/system-config`` checks every schedule whether or not its job is on, the integrity
  checks' included: Immich's SystemConfigDto (zod) runs ``cronExpressionSchema`` on
  ``backup.database``, ``library.scan`` and ``integrityChecks.*`` cron expressions
  unconditionally (400 "Validation failed", "Invalid cron expression").
* ``map.lightStyle``/``map.darkStyle`` must be URLs (SystemConfigMapDto: ``z.url()``,
  "Invalid URL"); ``server.externalDomain``, ``oauth.issuerUrl`` and
  ``oauth.endSessionEndpoint`` must be empty or URLs (their ``refine``: "External domain must
  be an empty string or a valid URL"...); ``oauth.mobileRedirectUri`` must be a URL while
  ``mobileOverrideEnabled`` is on (SystemConfigOAuthDto's ``transform``), and is free while it
  is off.
* Turning SMTP on (or changing it while on) checks the server first: Immich's notification
  service ``onConfigValidate`` calls ``verifySmtp`` and the system-config service answers 400
  "Invalid SMTP configuration" when it fails; nothing is saved. A reachable server is saved.

Nothing here takes an id, so there is no stranger case; non-admins are refused as
tests/test_system_config.py checks. The module puts the config back as it found it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from darkroom_db import system_config
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack

from .conftest import User

PATH = "/api/system-config"

#: Immich 3.1's defaults (server ``defaults``; the spec's SystemConfigDto shape).
IMMICH_DEFAULTS: dict[str, Any] = {
    "backup": {"database": {"enabled": True, "cronExpression": "0 02 * * *", "keepLastAmount": 14}},
    "ffmpeg": {
        "crf": 23,
        "threads": 0,
        "preset": "ultrafast",
        "targetVideoCodec": "h264",
        "acceptedVideoCodecs": ["h264"],
        "targetAudioCodec": "aac",
        "acceptedAudioCodecs": ["aac", "mp3", "opus"],
        "acceptedContainers": ["mov", "ogg", "webm"],
        "targetResolution": "720",
        "maxBitrate": "0",
        "bframes": -1,
        "refs": 0,
        "gopSize": 0,
        "temporalAQ": False,
        "cqMode": "auto",
        "twoPass": False,
        "preferredHwDevice": "auto",
        "transcode": "required",
        "tonemap": "hable",
        "accel": "disabled",
        "accelDecode": True,
        "realtime": {
            "enabled": False,
            "videoCodecs": ["h264", "hevc"],
            "resolutions": [480, 720, 1080],
        },
    },
    "integrityChecks": {
        "missingFiles": {"enabled": True, "cronExpression": "0 03 * * *"},
        "untrackedFiles": {"enabled": True, "cronExpression": "0 03 * * *"},
        "checksumFiles": {
            "enabled": True,
            "cronExpression": "0 03 * * *",
            "timeLimit": 3_600_000,
            "percentageLimit": 1,
        },
    },
    "job": {
        "thumbnailGeneration": {"concurrency": 3},
        "metadataExtraction": {"concurrency": 5},
        "videoConversion": {"concurrency": 1},
        "faceDetection": {"concurrency": 2},
        "smartSearch": {"concurrency": 2},
        "backgroundTask": {"concurrency": 5},
        "migration": {"concurrency": 5},
        "search": {"concurrency": 5},
        "sidecar": {"concurrency": 5},
        "library": {"concurrency": 5},
        "notifications": {"concurrency": 5},
        "ocr": {"concurrency": 1},
        "workflow": {"concurrency": 5},
        "editor": {"concurrency": 2},
        "integrityCheck": {"concurrency": 1},
    },
    "logging": {"enabled": True, "level": "log"},
    "machineLearning": {
        "enabled": True,
        "urls": ["http://immich-machine-learning:3003"],
        "availabilityChecks": {"enabled": True, "timeout": 2000, "interval": 30_000},
        "clip": {"enabled": True, "modelName": "ViT-B-32__openai"},
        "duplicateDetection": {"enabled": True, "maxDistance": 0.01},
        "facialRecognition": {
            "enabled": True,
            "modelName": "buffalo_l",
            "minScore": 0.7,
            "maxDistance": 0.5,
            "minFaces": 3,
        },
        "ocr": {
            "enabled": True,
            "modelName": "PP-OCRv5_mobile",
            "minDetectionScore": 0.5,
            "minRecognitionScore": 0.8,
            "maxResolution": 736,
        },
    },
    "map": {
        "enabled": True,
        "lightStyle": "https://tiles.immich.cloud/v1/style/light.json",
        "darkStyle": "https://tiles.immich.cloud/v1/style/dark.json",
    },
    "reverseGeocoding": {"enabled": True},
    "metadata": {"faces": {"import": False}},
    "oauth": {
        "autoLaunch": False,
        "autoRegister": True,
        "buttonText": "Login with OAuth",
        "clientId": "",
        "clientSecret": "",
        "defaultStorageQuota": None,
        "enabled": False,
        "issuerUrl": "",
        "endSessionEndpoint": "",
        "mobileOverrideEnabled": False,
        "mobileRedirectUri": "",
        "prompt": "",
        "scope": "openid email profile",
        "signingAlgorithm": "RS256",
        "profileSigningAlgorithm": "none",
        "storageLabelClaim": "preferred_username",
        "storageQuotaClaim": "immich_quota",
        "roleClaim": "immich_role",
        "tokenEndpointAuthMethod": "client_secret_post",
        "timeout": 30_000,
        "allowInsecureRequests": False,
    },
    "passwordLogin": {"enabled": True},
    "storageTemplate": {
        "enabled": False,
        "hashVerificationEnabled": True,
        "template": "{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}",
    },
    "image": {
        "thumbnail": {"format": "webp", "size": 250, "quality": 80, "progressive": False},
        "preview": {"format": "jpeg", "size": 1440, "quality": 80, "progressive": False},
        "colorspace": "p3",
        "extractEmbedded": False,
        "fullsize": {"enabled": False, "format": "jpeg", "quality": 80, "progressive": False},
    },
    "newVersionCheck": {"enabled": True, "channel": "stable"},
    "nightlyTasks": {
        "startTime": "00:00",
        "databaseCleanup": True,
        "generateMemories": True,
        "syncQuotaUsage": True,
        "missingThumbnails": True,
        "clusterNewFaces": True,
    },
    "trash": {"enabled": True, "days": 30},
    "theme": {"customCss": ""},
    "library": {
        "scan": {"enabled": True, "cronExpression": "0 0 * * *"},
        "watch": {"enabled": False},
    },
    "server": {"externalDomain": "", "loginPageMessage": "", "publicUsers": True},
    "notifications": {
        "smtp": {
            "enabled": False,
            "from": "",
            "replyTo": "",
            "transport": {
                "ignoreCert": False,
                "host": "",
                "port": 587,
                "secure": False,
                "username": "",
                "password": "",
            },
        }
    },
    "templates": {
        "email": {"welcomeTemplate": "", "albumInviteTemplate": "", "albumUpdateTemplate": ""}
    },
    "user": {"deleteDelay": 7},
}


@pytest.fixture(scope="module")
def saved(admin: User) -> Iterator[dict[str, Any]]:
    """The config in force when the module starts; saved back when it ends."""
    r = admin.client.get(PATH)
    assert r.status_code == 200, r.text
    yield r.json()
    assert admin.client.put(PATH, json=r.json()).status_code == 200


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _darkroom_paths(stack: Stack) -> set[str]:
    """Paths whose default is Darkroom's own: its documented choices and the ``DARKROOM_*``
    variables the stack's services get."""
    env = stack.env()
    paths = set(system_config.DARKROOM_DEFAULTS)
    paths |= {path for path, var, _ in system_config.ENV_DEFAULTS if var in env}
    if "DARKROOM_SMTP_HOST" in env:
        paths.add("notifications.smtp.enabled")
    return paths


def test_defaults_are_immichs_but_for_darkroom_choices(stack: Stack, admin: User) -> None:
    r = admin.client.get(f"{PATH}/defaults")
    assert r.status_code == 200, r.text
    ours, immich = _leaves(r.json()), _leaves(IMMICH_DEFAULTS)
    assert set(ours) == set(immich)
    own = _darkroom_paths(stack)
    differ = {p: (ours[p], immich[p]) for p in immich if ours[p] != immich[p] and p not in own}
    assert differ == {}, differ
    # the documented Darkroom choices stay
    assert ours["machineLearning.facialRecognition.modelName"] == "dlib"
    assert ours["newVersionCheck.enabled"] is False


def _put(admin: User, saved: dict[str, Any], path: str, value: Any) -> Any:
    config = copy.deepcopy(saved)
    *parents, leaf = path.split(".")
    node = config
    for part in parents:
        node = node[part]
    node[leaf] = value
    return admin.client.put(PATH, json=config)


def _invalid(r: Any, path: str, message: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["message"] == "Validation failed", body
    assert [e["path"] for e in body["errors"]] == [path.split(".")], body
    assert body["errors"][0]["message"] == message, body


@pytest.mark.parametrize(
    "path",
    [
        "integrityChecks.missingFiles.cronExpression",
        "integrityChecks.untrackedFiles.cronExpression",
        "integrityChecks.checksumFiles.cronExpression",
    ],
)
def test_integrity_check_schedules_must_be_cron(
    admin: User, saved: dict[str, Any], path: str
) -> None:
    _invalid(_put(admin, saved, path, "every night at three"), path, "Invalid cron expression")
    assert admin.client.get(PATH).json() == saved


def test_a_schedule_that_is_off_is_still_checked(admin: User, saved: dict[str, Any]) -> None:
    config = copy.deepcopy(saved)
    config["library"]["scan"] = {"enabled": False, "cronExpression": "whenever"}
    r = admin.client.put(PATH, json=config)
    _invalid(r, "library.scan.cronExpression", "Invalid cron expression")
    config = copy.deepcopy(saved)
    config["backup"]["database"].update(enabled=False, cronExpression="")
    _invalid(
        admin.client.put(PATH, json=config),
        "backup.database.cronExpression",
        "Invalid cron expression",
    )
    assert admin.client.get(PATH).json() == saved


@pytest.mark.parametrize("path", ["map.lightStyle", "map.darkStyle"])
def test_map_styles_must_be_urls(admin: User, saved: dict[str, Any], path: str) -> None:
    for value in ("", "tiles.example.com/style.json", "https://"):
        _invalid(_put(admin, saved, path, value), path, "Invalid URL")
    assert admin.client.get(PATH).json() == saved
    r = _put(admin, saved, path, "https://tiles.example.com/style.json")
    assert r.status_code == 200, r.text
    assert _leaves(r.json())[path] == "https://tiles.example.com/style.json"
    assert admin.client.put(PATH, json=saved).status_code == 200


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("server.externalDomain", "External domain must be an empty string or a valid URL"),
        ("oauth.issuerUrl", "Issuer URL must be an empty string or a valid URL"),
        ("oauth.endSessionEndpoint", "endSessionEndpoint must be an empty string or a valid URL"),
    ],
)
def test_address_fields_are_empty_or_urls(
    admin: User, saved: dict[str, Any], path: str, message: str
) -> None:
    _invalid(_put(admin, saved, path, "photos.example.com"), path, message)
    assert admin.client.get(PATH).json() == saved
    for value in ("https://photos.example.com", ""):
        r = _put(admin, saved, path, value)
        assert r.status_code == 200, r.text
        assert _leaves(r.json())[path] == value
    assert admin.client.put(PATH, json=saved).status_code == 200


def test_mobile_redirect_uri_is_a_url_while_the_override_is_on(
    admin: User, saved: dict[str, Any]
) -> None:
    config = copy.deepcopy(saved)
    config["oauth"].update(mobileOverrideEnabled=True, mobileRedirectUri="my.app/callback")
    r = admin.client.put(PATH, json=config)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["message"] == "Validation failed", body
    assert [e["path"] for e in body["errors"]] == [["oauth"]], body
    assert body["errors"][0]["message"] == (
        "Mobile redirect URI must be an empty string or a valid URL"
    )
    assert admin.client.get(PATH).json() == saved
    # off: not checked; on with a URL (a custom scheme is one): saved
    for enabled, uri in ((False, "my.app/callback"), (True, "app.immich:///oauth-callback")):
        config["oauth"].update(mobileOverrideEnabled=enabled, mobileRedirectUri=uri)
        r = admin.client.put(PATH, json=config)
        assert r.status_code == 200, r.text
        assert r.json()["oauth"]["mobileRedirectUri"] == uri
    assert admin.client.put(PATH, json=saved).status_code == 200


class _Sink:
    """An aiosmtpd handler that accepts and drops every message."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        return "250 OK"


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    """A real SMTP server on loopback."""
    port = free_port()
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _smtp(saved: dict[str, Any], port: int) -> dict[str, Any]:
    config = copy.deepcopy(saved)
    smtp = config["notifications"]["smtp"]
    smtp.update(enabled=True, **{"from": "Photos <photos@darkroom.test>"})
    smtp["transport"].update(host="127.0.0.1", port=port, secure=False, username="", password="")
    return config


def test_turning_smtp_on_checks_the_server(
    admin: User, saved: dict[str, Any], smtp_port: int
) -> None:
    r = admin.client.put(PATH, json=_smtp(saved, free_port()))  # nothing listens there
    assert r.status_code == 400, r.text
    assert r.json() == {"message": "Invalid SMTP configuration"}
    assert admin.client.get(PATH).json() == saved
    r = admin.client.put(PATH, json=_smtp(saved, smtp_port))
    assert r.status_code == 200, r.text
    assert r.json()["notifications"]["smtp"]["transport"]["port"] == smtp_port
    assert admin.client.put(PATH, json=saved).status_code == 200
