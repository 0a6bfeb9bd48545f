"""System config: Immich's SystemConfigDto, its defaults, and the admin's stored overrides.

Immich 3.1 keeps its system config as the values that differ from the defaults, in system
metadata under ``system-config``; ``GET /api/system-config`` answers the defaults merged with
them, and a config file (``IMMICH_CONFIG_FILE``; here ``DARKROOM_CONFIG_FILE``) wins over both
and locks ``PUT``. Darkroom does the same, in the ``system_metadata`` table (migration 0011).

The Structs below are written out from the spec's schemas (``/components/schemas/SystemConfig*``
of Immich 3.1.0's OpenAPI document, one Struct per schema, its name kept), with the spec's
bounds as msgspec constraints, so decoding a request validates it.

Defaults (:func:`defaults`) are Immich's documented defaults (the "Config File" page of Immich's
docs and the spec's descriptions), except:

- where Darkroom behaves differently today (:data:`DARKROOM_DEFAULTS`: its face detector is
  dlib with scores on another scale, video is transcoded "optimal" into MP4, it never checks
  for releases), so nothing changes for an existing install;
- where a ``DARKROOM_*`` variable has set the same thing until now (:data:`ENV_DEFAULTS`: the
  thumbnail size, trash days, SMTP...): that variable's value is the default, so an install
  configured by environment keeps its behaviour until an admin saves another value.

Every process reads the same variables (the embedded stack, compose and Helm give all services
one environment), so every service sees the same defaults.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

import asyncpg
import msgspec
import structlog
import yaml
from msgspec import Meta

from darkroom_db import system_metadata

log = structlog.get_logger()

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection

#: system_metadata key of the stored overrides (Immich's SystemMetadataKey.SystemConfig).
KEY = "system-config"
#: Environment variable naming a JSON or YAML file whose values win and lock PUT.
CONFIG_FILE_VAR = "DARKROOM_CONFIG_FILE"
#: Sections whose values are secrets: an event or a log names the section, never the value.
SECRET_PATHS = ("notifications.smtp.transport.password", "oauth.clientSecret")


class _Dto(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Base of the config Structs (camelCase on the wire, as the spec)."""


class DatabaseBackupConfig(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: DatabaseBackupConfig."""

    cron_expression: str
    enabled: bool
    keep_last_amount: Annotated[int, Meta(ge=1)]


class SystemConfigBackupsDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigBackupsDto."""

    database: DatabaseBackupConfig


class SystemConfigFFmpegRealtimeDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigFFmpegRealtimeDto."""

    enabled: bool
    resolutions: list[Literal[480, 720, 1080, 1440, 2160]]
    video_codecs: list[Literal["h264", "hevc", "vp9", "av1"]]


class SystemConfigFFmpegDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigFFmpegDto."""

    accel: Literal["nvenc", "qsv", "vaapi", "rkmpp", "disabled"]
    accel_decode: bool
    accepted_audio_codecs: list[Literal["mp3", "aac", "opus", "pcm_s16le"]]
    accepted_containers: list[Literal["mov", "mp4", "ogg", "webm"]]
    accepted_video_codecs: list[Literal["h264", "hevc", "vp9", "av1"]]
    bframes: Annotated[int, Meta(ge=-1, le=16)]
    cq_mode: Literal["auto", "cqp", "icq"]
    crf: Annotated[int, Meta(ge=0, le=51)]
    gop_size: Annotated[int, Meta(ge=0)]
    max_bitrate: str
    preferred_hw_device: str
    preset: str
    realtime: SystemConfigFFmpegRealtimeDto
    refs: Annotated[int, Meta(ge=0, le=6)]
    target_audio_codec: Literal["mp3", "aac", "opus", "pcm_s16le"]
    target_resolution: str
    target_video_codec: Literal["h264", "hevc", "vp9", "av1"]
    temporal_aq: bool = msgspec.field(name="temporalAQ")
    threads: Annotated[int, Meta(ge=0)]
    tonemap: Literal["hable", "mobius", "reinhard", "disabled"]
    transcode: Literal["all", "optimal", "bitrate", "required", "disabled"]
    two_pass: bool


class SystemConfigGeneratedFullsizeImageDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigGeneratedFullsizeImageDto."""

    enabled: bool
    format: Literal["jpeg", "webp"]
    progressive: bool = False
    quality: Annotated[int, Meta(ge=1, le=100)]


class SystemConfigGeneratedImageDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigGeneratedImageDto."""

    format: Literal["jpeg", "webp"]
    progressive: bool = False
    quality: Annotated[int, Meta(ge=1, le=100)]
    size: Annotated[int, Meta(ge=1)]


class SystemConfigImageDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigImageDto."""

    colorspace: Literal["srgb", "p3"]
    extract_embedded: bool
    fullsize: SystemConfigGeneratedFullsizeImageDto
    preview: SystemConfigGeneratedImageDto
    thumbnail: SystemConfigGeneratedImageDto


class SystemConfigIntegrityChecksumJob(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigIntegrityChecksumJob (integrity checksum job config)."""

    cron_expression: str
    enabled: bool
    percentage_limit: Annotated[float, Meta(ge=0, le=1)]
    time_limit: Annotated[int, Meta(ge=0)]


class SystemConfigIntegrityJob(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigIntegrityJob (integrity job config)."""

    cron_expression: str
    enabled: bool


class SystemConfigIntegrityChecks(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigIntegrityChecks (integrity checks config)."""

    checksum_files: SystemConfigIntegrityChecksumJob
    missing_files: SystemConfigIntegrityJob
    untracked_files: SystemConfigIntegrityJob


class JobSettingsDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: JobSettingsDto."""

    concurrency: Annotated[int, Meta(ge=1)]


class SystemConfigJobDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigJobDto."""

    background_task: JobSettingsDto
    editor: JobSettingsDto
    face_detection: JobSettingsDto
    integrity_check: JobSettingsDto
    library: JobSettingsDto
    metadata_extraction: JobSettingsDto
    migration: JobSettingsDto
    notifications: JobSettingsDto
    ocr: JobSettingsDto
    search: JobSettingsDto
    sidecar: JobSettingsDto
    smart_search: JobSettingsDto
    thumbnail_generation: JobSettingsDto
    video_conversion: JobSettingsDto
    workflow: JobSettingsDto


class SystemConfigLibraryScanDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigLibraryScanDto."""

    cron_expression: str
    enabled: bool


class SystemConfigLibraryWatchDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigLibraryWatchDto."""

    enabled: bool


class SystemConfigLibraryDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigLibraryDto."""

    scan: SystemConfigLibraryScanDto
    watch: SystemConfigLibraryWatchDto


class SystemConfigLoggingDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigLoggingDto."""

    enabled: bool
    level: Literal["verbose", "debug", "log", "warn", "error", "fatal"]


class MachineLearningAvailabilityChecksDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: MachineLearningAvailabilityChecksDto."""

    enabled: bool
    interval: int
    timeout: int


class CLIPConfig(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: CLIPConfig."""

    enabled: bool
    model_name: str


class DuplicateDetectionConfig(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: DuplicateDetectionConfig."""

    enabled: bool
    max_distance: Annotated[float, Meta(ge=0.001, le=0.1)]


class FacialRecognitionConfig(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: FacialRecognitionConfig."""

    enabled: bool
    max_distance: Annotated[float, Meta(ge=0.1, le=2)]
    min_faces: Annotated[int, Meta(ge=1)]
    min_score: Annotated[float, Meta(ge=0.1, le=1)]
    model_name: str


class OcrConfig(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: OcrConfig."""

    enabled: bool
    max_resolution: Annotated[int, Meta(ge=1)]
    min_detection_score: Annotated[float, Meta(ge=0.1, le=1)]
    min_recognition_score: Annotated[float, Meta(ge=0.1, le=1)]
    model_name: str


class SystemConfigMachineLearningDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigMachineLearningDto."""

    availability_checks: MachineLearningAvailabilityChecksDto
    clip: CLIPConfig
    duplicate_detection: DuplicateDetectionConfig
    enabled: bool
    facial_recognition: FacialRecognitionConfig
    ocr: OcrConfig
    urls: Annotated[list[str], Meta(min_length=1)]


class SystemConfigMapDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigMapDto."""

    dark_style: str
    enabled: bool
    light_style: str


class SystemConfigFacesDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigFacesDto."""

    import_: bool = msgspec.field(name="import")


class SystemConfigMetadataDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigMetadataDto."""

    faces: SystemConfigFacesDto


class SystemConfigNewVersionCheckDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigNewVersionCheckDto."""

    channel: Literal["stable", "releaseCandidate"]
    enabled: bool


class SystemConfigNightlyTasksDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigNightlyTasksDto."""

    cluster_new_faces: bool
    database_cleanup: bool
    generate_memories: bool
    missing_thumbnails: bool
    start_time: Annotated[str, Meta(pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$")]
    sync_quota_usage: bool


class SystemConfigSmtpTransportDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigSmtpTransportDto."""

    host: str
    ignore_cert: bool
    password: str
    port: Annotated[int, Meta(ge=0, le=65535)]
    secure: bool
    username: str


class SystemConfigSmtpDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigSmtpDto."""

    enabled: bool
    from_: str = msgspec.field(name="from")
    reply_to: str
    transport: SystemConfigSmtpTransportDto


class SystemConfigNotificationsDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigNotificationsDto."""

    smtp: SystemConfigSmtpDto


class SystemConfigOAuthDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigOAuthDto."""

    allow_insecure_requests: bool
    auto_launch: bool
    auto_register: bool
    button_text: str
    client_id: str
    client_secret: str
    default_storage_quota: Annotated[int, Meta(ge=0)] | None
    enabled: bool
    end_session_endpoint: str
    issuer_url: str
    mobile_override_enabled: bool
    mobile_redirect_uri: str
    profile_signing_algorithm: str
    prompt: str
    role_claim: str
    scope: str
    signing_algorithm: str
    storage_label_claim: str
    storage_quota_claim: str
    timeout: Annotated[int, Meta(ge=1)]
    token_endpoint_auth_method: Literal["client_secret_post", "client_secret_basic"]


class SystemConfigPasswordLoginDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigPasswordLoginDto."""

    enabled: bool


class SystemConfigReverseGeocodingDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigReverseGeocodingDto."""

    enabled: bool


class SystemConfigServerDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigServerDto."""

    external_domain: str
    login_page_message: str
    public_users: bool


class SystemConfigStorageTemplateDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigStorageTemplateDto."""

    enabled: bool
    hash_verification_enabled: bool
    template: str


class SystemConfigTemplateEmailsDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigTemplateEmailsDto."""

    album_invite_template: str
    album_update_template: str
    welcome_template: str


class SystemConfigTemplatesDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigTemplatesDto."""

    email: SystemConfigTemplateEmailsDto


class SystemConfigThemeDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigThemeDto."""

    custom_css: str


class SystemConfigTrashDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigTrashDto."""

    days: Annotated[int, Meta(ge=0)]
    enabled: bool


class SystemConfigUserDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigUserDto."""

    delete_delay: Annotated[int, Meta(ge=1)]


class SystemConfigDto(_Dto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigDto (system configuration)."""

    backup: SystemConfigBackupsDto
    ffmpeg: SystemConfigFFmpegDto
    image: SystemConfigImageDto
    integrity_checks: SystemConfigIntegrityChecks
    job: SystemConfigJobDto
    library: SystemConfigLibraryDto
    logging: SystemConfigLoggingDto
    machine_learning: SystemConfigMachineLearningDto
    map: SystemConfigMapDto
    metadata: SystemConfigMetadataDto
    new_version_check: SystemConfigNewVersionCheckDto
    nightly_tasks: SystemConfigNightlyTasksDto
    notifications: SystemConfigNotificationsDto
    oauth: SystemConfigOAuthDto
    password_login: SystemConfigPasswordLoginDto
    reverse_geocoding: SystemConfigReverseGeocodingDto
    server: SystemConfigServerDto
    storage_template: SystemConfigStorageTemplateDto
    templates: SystemConfigTemplatesDto
    theme: SystemConfigThemeDto
    trash: SystemConfigTrashDto
    user: SystemConfigUserDto


#: Immich 3.1's defaults (its server's ``defaults``, the values ``GET /api/system-config/
#: defaults`` answers: hardware decoding on, Opus not libopus and no PCM among the accepted audio
#: codecs, real-time HLS in H.264 and HEVC; the older ``immich.json`` page of its docs differs).
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
            "resolutions": [480, 720, 1080],
            "videoCodecs": ["h264", "hevc"],
        },
    },
    "image": {
        "thumbnail": {"format": "webp", "size": 250, "quality": 80, "progressive": False},
        "preview": {"format": "jpeg", "size": 1440, "quality": 80, "progressive": False},
        "colorspace": "p3",
        "extractEmbedded": False,
        "fullsize": {"enabled": False, "format": "jpeg", "quality": 80, "progressive": False},
    },
    "integrityChecks": {
        "missingFiles": {"enabled": True, "cronExpression": "0 03 * * *"},
        "untrackedFiles": {"enabled": True, "cronExpression": "0 03 * * *"},
        "checksumFiles": {
            "enabled": True,
            "cronExpression": "0 03 * * *",
            "timeLimit": 3_600_000,
            "percentageLimit": 1.0,
        },
    },
    "job": {
        name: {"concurrency": concurrency}
        for name, concurrency in {
            "backgroundTask": 5,
            "editor": 2,
            "faceDetection": 2,
            "integrityCheck": 1,
            "library": 5,
            "metadataExtraction": 5,
            "migration": 5,
            "notifications": 5,
            "ocr": 1,
            "search": 5,
            "sidecar": 5,
            "smartSearch": 2,
            "thumbnailGeneration": 3,
            "videoConversion": 1,
            "workflow": 5,
        }.items()
    },
    "library": {
        "scan": {"enabled": True, "cronExpression": "0 0 * * *"},
        "watch": {"enabled": False},
    },
    "logging": {"enabled": True, "level": "log"},
    "machineLearning": {
        "enabled": True,
        "urls": ["http://immich-machine-learning:3003"],
        "availabilityChecks": {"enabled": True, "timeout": 2000, "interval": 30000},
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
    "metadata": {"faces": {"import": False}},
    "newVersionCheck": {"enabled": True, "channel": "stable"},
    "nightlyTasks": {
        "startTime": "00:00",
        "databaseCleanup": True,
        "generateMemories": True,
        "syncQuotaUsage": True,
        "missingThumbnails": True,
        "clusterNewFaces": True,
    },
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
    "oauth": {
        "allowInsecureRequests": False,
        "autoLaunch": False,
        "autoRegister": True,
        "buttonText": "Login with OAuth",
        "clientId": "",
        "clientSecret": "",
        "defaultStorageQuota": None,
        "enabled": False,
        "endSessionEndpoint": "",
        "issuerUrl": "",
        "mobileOverrideEnabled": False,
        "mobileRedirectUri": "",
        "profileSigningAlgorithm": "none",
        "prompt": "",
        "roleClaim": "immich_role",
        "scope": "openid email profile",
        "signingAlgorithm": "RS256",
        "storageLabelClaim": "preferred_username",
        "storageQuotaClaim": "immich_quota",
        "timeout": 30000,
        "tokenEndpointAuthMethod": "client_secret_post",
    },
    "passwordLogin": {"enabled": True},
    "reverseGeocoding": {"enabled": True},
    "server": {"externalDomain": "", "loginPageMessage": "", "publicUsers": True},
    "storageTemplate": {
        "enabled": False,
        "hashVerificationEnabled": True,
        "template": "{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}",
    },
    "templates": {
        "email": {"albumInviteTemplate": "", "albumUpdateTemplate": "", "welcomeTemplate": ""}
    },
    "theme": {"customCss": ""},
    "trash": {"enabled": True, "days": 30},
    "user": {"deleteDelay": 7},
}

#: Where Darkroom behaves otherwise than Immich's default today (its own defaults), by path:
#: the dlib face detector scores on another scale (``DARKROOM_DETECTION_MIN_SCORE`` default);
#: the transcode service's policy and accepted containers (``DARKROOM_TRANSCODE_*`` defaults:
#: MP4 plays in every browser); Darkroom never contacts a release server.
DARKROOM_DEFAULTS: dict[str, Any] = {
    "machineLearning.facialRecognition.modelName": "dlib",
    "machineLearning.facialRecognition.minScore": 0.3,
    "ffmpeg.transcode": "optimal",
    "ffmpeg.acceptedContainers": ["mp4"],
    "newVersionCheck.enabled": False,
}


def _resolution(value: str) -> str:
    return "original" if value.strip() in ("0", "") else value.strip()


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _kbps(value: str) -> str:
    return f"{value.strip()}k" if value.strip() not in ("", "0") else "0"


#: ``DARKROOM_*`` variables that set a config value until now, by path: their value is that
#: path's default (converted as the config's type: ``"true"``, ``"250"``...).
ENV_DEFAULTS: tuple[tuple[str, str, Callable[[str], Any] | None], ...] = (
    ("image.thumbnail.size", "DARKROOM_RENDER_THUMBNAIL_SIZE", None),
    ("image.thumbnail.quality", "DARKROOM_RENDER_THUMBNAIL_QUALITY", None),
    ("image.preview.size", "DARKROOM_RENDER_PREVIEW_SIZE", None),
    ("image.preview.quality", "DARKROOM_RENDER_PREVIEW_QUALITY", None),
    ("ffmpeg.transcode", "DARKROOM_TRANSCODE_POLICY", None),
    ("ffmpeg.crf", "DARKROOM_TRANSCODE_CRF", None),
    ("ffmpeg.targetResolution", "DARKROOM_TRANSCODE_TARGET_RESOLUTION", _resolution),
    ("ffmpeg.targetVideoCodec", "DARKROOM_TRANSCODE_CODEC", None),
    ("ffmpeg.preset", "DARKROOM_TRANSCODE_PRESET", None),
    ("ffmpeg.accel", "DARKROOM_TRANSCODE_ACCEL", None),
    ("ffmpeg.acceptedContainers", "DARKROOM_TRANSCODE_ACCEPTED_CONTAINERS", _csv),
    ("ffmpeg.acceptedVideoCodecs", "DARKROOM_TRANSCODE_ACCEPTED_VIDEO_CODECS", _csv),
    ("ffmpeg.acceptedAudioCodecs", "DARKROOM_TRANSCODE_ACCEPTED_AUDIO_CODECS", _csv),
    ("ffmpeg.maxBitrate", "DARKROOM_TRANSCODE_MAX_BITRATE_KBPS", _kbps),
    ("machineLearning.clip.modelName", "DARKROOM_CLIP_MODEL", None),
    ("machineLearning.duplicateDetection.enabled", "DARKROOM_DUPLICATE_DETECTION", None),
    ("machineLearning.duplicateDetection.maxDistance", "DARKROOM_DUPLICATE_MAX_DISTANCE", None),
    ("machineLearning.ocr.enabled", "DARKROOM_OCR", None),
    ("machineLearning.facialRecognition.modelName", "DARKROOM_DETECTION_MODEL", None),
    ("machineLearning.facialRecognition.minScore", "DARKROOM_DETECTION_MIN_SCORE", None),
    ("machineLearning.facialRecognition.maxDistance", "DARKROOM_RECOGNITION_MAX_DISTANCE", None),
    ("machineLearning.facialRecognition.minFaces", "DARKROOM_RECOGNITION_MIN_FACES", None),
    ("reverseGeocoding.enabled", "DARKROOM_REVERSE_GEOCODING", None),
    ("server.externalDomain", "DARKROOM_EXTERNAL_DOMAIN", None),
    ("notifications.smtp.from", "DARKROOM_SMTP_FROM", None),
    ("notifications.smtp.replyTo", "DARKROOM_SMTP_REPLY_TO", None),
    ("notifications.smtp.transport.host", "DARKROOM_SMTP_HOST", None),
    ("notifications.smtp.transport.port", "DARKROOM_SMTP_PORT", None),
    ("notifications.smtp.transport.username", "DARKROOM_SMTP_USERNAME", None),
    ("notifications.smtp.transport.password", "DARKROOM_SMTP_PASSWORD", None),
    ("notifications.smtp.transport.secure", "DARKROOM_SMTP_SECURE", None),
    ("notifications.smtp.transport.ignoreCert", "DARKROOM_SMTP_IGNORE_CERT", None),
)


class ConfigFileError(ValueError):
    """``DARKROOM_CONFIG_FILE`` cannot be read or holds a value of the wrong type (named)."""


class ConfigSource(msgspec.Struct, frozen=True, kw_only=True):
    """Where a process's config comes from besides the database, read once at start-up.

    Attributes:
        env: The ``DARKROOM_*`` variables of :data:`ENV_DEFAULTS` that are set (file variants
            ``<NAME>_FILE`` read), by name.
        config_file: ``DARKROOM_CONFIG_FILE``: a JSON or YAML file (``.yaml``/``.yml``) of
            SystemConfigDto values, possibly partial; its values win over the stored ones and
            the defaults, and PUT is refused while it is set. Empty: none.
    """

    env: dict[str, str] = {}
    config_file: str = ""

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, *, config_file: str | None = None
    ) -> ConfigSource:
        """Read the variables of :data:`ENV_DEFAULTS` from ``environ`` (``os.environ`` when
        None).

        Args:
            environ: The environment.
            config_file: The config file from the process's settings (their ``config_file``,
                ``DARKROOM_CONFIG_FILE``); when None it is read from ``environ``.
        """
        env = os.environ if environ is None else environ
        found: dict[str, str] = {}
        for _, var, _ in ENV_DEFAULTS:
            if var in env:
                found[var] = env[var]
            elif f"{var}_FILE" in env:
                found[var] = Path(env[f"{var}_FILE"]).read_text().rstrip("\n")
        if config_file is None:
            config_file = env.get(CONFIG_FILE_VAR, "")
        return cls(env=found, config_file=config_file)

    @property
    def locked(self) -> bool:
        """Whether a config file is in use (PUT is then refused)."""
        return bool(self.config_file)


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        tree = tree[part]
    tree[leaf] = value


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` laid over it, object by object (lists and scalars replace)."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _diff(base: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """The members of ``other`` that differ from ``base`` (recursively): what Immich stores."""
    out: dict[str, Any] = {}
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            sub = _diff(base[key], value)
            if sub:
                out[key] = sub
        elif base.get(key, object()) != value:
            out[key] = value
    return out


def _convert(raw: Mapping[str, Any], *, strict: bool = True) -> SystemConfigDto:
    return msgspec.convert(raw, SystemConfigDto, strict=strict)


def default_tree(source: ConfigSource) -> dict[str, Any]:
    """The defaults as plain JSON values: Immich's, Darkroom's own, then the environment's.

    Raises:
        ValueError: A variable of :data:`ENV_DEFAULTS` does not convert (names it).
    """
    tree = copy.deepcopy(IMMICH_DEFAULTS)
    for path, value in DARKROOM_DEFAULTS.items():
        _set(tree, path, copy.deepcopy(value))
    for path, var, parse in ENV_DEFAULTS:
        if var in source.env:
            _set(tree, path, parse(source.env[var]) if parse else source.env[var])
    if "DARKROOM_SMTP_HOST" in source.env:  # an SMTP host set by environment turned mail on
        _set(tree, "notifications.smtp.enabled", bool(source.env["DARKROOM_SMTP_HOST"]))
    try:
        # lax: the environment's values are strings ("250", "true")
        return msgspec.to_builtins(_convert(tree, strict=False))  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        var = next((v for p, v, _ in ENV_DEFAULTS if p in _error_path(exc)), "environment")
        raise ValueError(f"{var}: {exc}") from exc


def defaults(source: ConfigSource) -> SystemConfigDto:
    """The config with nothing stored: ``GET /api/system-config/defaults``."""
    return _convert(default_tree(source))


def read_file(path: str) -> dict[str, Any]:
    """The values of a config file: JSON, or YAML when it is named ``*.yaml``/``*.yml``.

    Raises:
        ConfigFileError: It cannot be read, parsed, or is not an object.
    """
    try:
        text = Path(path).read_text()
        data = yaml.safe_load(text) if path.endswith((".yaml", ".yml")) else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"{CONFIG_FILE_VAR}: cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigFileError(f"{CONFIG_FILE_VAR}: {path} does not hold an object")
    return data


def _error_path(exc: msgspec.ValidationError) -> str:
    message = str(exc)
    return message.rsplit("at `$.", 1)[-1].rstrip("`") if "at `$." in message else ""


async def stored_overrides(conn: Conn) -> dict[str, Any]:
    """The values the admin saved (only those that differ from the defaults)."""
    return await system_metadata.get(conn, KEY) or {}


async def load(conn: Conn, source: ConfigSource) -> SystemConfigDto:
    """The config in force: the defaults, the stored overrides over them, the file over both.

    A stored value that no longer validates (a hand edit, a changed bound) is dropped with a
    warning rather than failing every service: the defaults stand for it.

    Raises:
        ConfigFileError: The config file cannot be read or does not validate.
    """
    tree = default_tree(source)
    overrides = await stored_overrides(conn)
    try:
        merged = _merge(tree, overrides)
        _convert(merged)
        tree = merged
    except msgspec.ValidationError as exc:
        log.warning("system_config.stored_invalid", error=str(exc))
    if source.config_file:
        tree = _merge(tree, read_file(source.config_file))
        try:
            return _convert(tree)
        except msgspec.ValidationError as exc:
            raise ConfigFileError(f"{CONFIG_FILE_VAR}: {exc}") from exc
    return _convert(tree)


async def save(conn: Conn, config: SystemConfigDto, source: ConfigSource) -> list[str]:
    """Store ``config`` as its differences from the defaults (Immich keeps only those).

    Args:
        conn: Pool or connection.
        config: The whole new config (validated: a decoded SystemConfigDto).
        source: The process's defaults.

    Returns:
        The top-level sections whose values changed from what was in force (``["image"]``),
        sorted; empty when nothing changed.
    """
    before = msgspec.to_builtins(await load(conn, source))
    after = msgspec.to_builtins(config)
    await system_metadata.put(conn, KEY, _diff(default_tree(source), after))
    return sorted(k for k in after if before.get(k) != after[k])


def value(config: SystemConfigDto, path: str) -> Any:
    """One value by its dotted wire path (``"image.thumbnail.size"``), for logs and tests."""
    node: Any = msgspec.to_builtins(config)
    for part in path.split("."):
        node = node[part]
    return node


#: Immich's storage-template tokens and presets (GET /api/system-config/storage-template-
#: options), as its storage-template service lists them (server/src/constants.ts
#: ``supportedPresetTokens``, in its order).
STORAGE_TEMPLATE_OPTIONS: dict[str, list[str]] = {
    "yearOptions": ["y", "yy"],
    "monthOptions": ["M", "MM", "MMM", "MMMM"],
    "weekOptions": ["W", "WW"],
    "dayOptions": ["d", "dd"],
    "hourOptions": ["h", "hh", "H", "HH"],
    "minuteOptions": ["m", "mm"],
    "secondOptions": ["s", "ss", "SSS"],
    "presetOptions": [
        "{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}",
        "{{y}}/{{MM}}-{{dd}}/{{filename}}",
        "{{y}}/{{MMMM}}-{{dd}}/{{filename}}",
        "{{y}}/{{MM}}/{{filename}}",
        "{{y}}/{{#if album}}{{album}}{{else}}Other/{{MM}}{{/if}}/{{filename}}",
        "{{y}}/{{MMM}}/{{filename}}",
        "{{y}}/{{MMMM}}/{{filename}}",
        "{{y}}/{{MM}}/{{dd}}/{{filename}}",
        "{{y}}/{{MMMM}}/{{dd}}/{{filename}}",
        "{{y}}/{{y}}-{{MM}}/{{y}}-{{MM}}-{{dd}}/{{filename}}",
        "{{y}}-{{MM}}-{{dd}}/{{filename}}",
        "{{y}}-{{MMM}}-{{dd}}/{{filename}}",
        "{{y}}-{{MMMM}}-{{dd}}/{{filename}}",
        "{{y}}/{{y}}-{{MM}}/{{filename}}",
        "{{y}}/{{y}}-{{WW}}/{{filename}}",
        "{{y}}/{{y}}-{{MM}}-{{dd}}/{{assetId}}",
        "{{y}}/{{y}}-{{MM}}/{{assetId}}",
        "{{y}}/{{y}}-{{WW}}/{{assetId}}",
        "{{album}}/{{filename}}",
    ],
}
