"""System config storage: only the differences from the defaults are stored; the environment
sets defaults; a config file wins (real PostgreSQL)."""

from __future__ import annotations

import json

import msgspec
import pytest
from darkroom_db import create_pool, migrate, system_config, system_metadata
from darkroom_db.system_config import ConfigSource, SystemConfigDto
from darkroom_stack.testing import fresh_database


@pytest.fixture(scope="module")
def db_url(postgres_server) -> str:
    url = fresh_database(postgres_server, "config")
    migrate(url)
    return url


@pytest.fixture
async def pool(db_url):
    p = await create_pool(db_url)
    await system_metadata.delete(p, system_config.KEY)
    yield p
    await p.close()


def _with(config: SystemConfigDto, path: str, value: object) -> SystemConfigDto:
    tree = msgspec.to_builtins(config)
    node = tree
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[part]
    node[leaf] = value
    return msgspec.convert(tree, SystemConfigDto)


async def test_save_keeps_only_differences_and_load_merges(pool) -> None:
    source = ConfigSource()
    assert await system_config.load(pool, source) == system_config.defaults(source)
    new = _with(system_config.defaults(source), "image.thumbnail.size", 123)
    new = _with(new, "notifications.smtp.transport.password", "hunter2")

    changed = await system_config.save(pool, new, source)

    assert changed == ["image", "notifications"]
    stored = await system_metadata.get(pool, system_config.KEY)
    assert stored == {
        "image": {"thumbnail": {"size": 123}},
        "notifications": {"smtp": {"transport": {"password": "hunter2"}}},
    }
    loaded = await system_config.load(pool, source)
    assert loaded == new
    assert await system_config.save(pool, new, source) == []  # nothing changed


async def test_environment_sets_the_default(pool) -> None:
    source = ConfigSource.from_environ(
        {"DARKROOM_RENDER_THUMBNAIL_SIZE": "300", "DARKROOM_SMTP_HOST": "mail.example.org"}
    )
    config = await system_config.load(pool, source)
    assert config.image.thumbnail.size == 300
    assert config.notifications.smtp.enabled is True
    assert config.notifications.smtp.transport.host == "mail.example.org"
    assert config.trash.days == 30  # Immich's default where nothing else is set


async def test_config_file_wins(pool, tmp_path) -> None:
    source = ConfigSource()
    await system_config.save(pool, _with(system_config.defaults(source), "trash.days", 5), source)
    yaml_file = tmp_path / "darkroom.yaml"
    yaml_file.write_text("trash:\n  days: 12\nimage:\n  thumbnail:\n    size: 99\n")
    json_file = tmp_path / "darkroom.json"
    json_file.write_text(json.dumps({"trash": {"days": 13}}))

    from_yaml = await system_config.load(pool, ConfigSource(config_file=str(yaml_file)))
    from_json = await system_config.load(pool, ConfigSource(config_file=str(json_file)))

    assert (from_yaml.trash.days, from_yaml.image.thumbnail.size) == (12, 99)
    assert (from_json.trash.days, from_json.image.thumbnail.size) == (13, 250)
    assert ConfigSource(config_file=str(json_file)).locked


async def test_bad_config_file_is_named(pool, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"trash": {"days": -1}}))
    with pytest.raises(system_config.ConfigFileError, match="DARKROOM_CONFIG_FILE"):
        await system_config.load(pool, ConfigSource(config_file=str(bad)))


def test_bounds_are_validated() -> None:
    good = msgspec.json.encode(system_config.defaults(ConfigSource()))
    bad = good.replace(b'"size":250', b'"size":0')
    with pytest.raises(msgspec.ValidationError, match=r"\$\.image\.thumbnail\.size"):
        msgspec.json.decode(bad, type=SystemConfigDto)
