"""Unit tests of the storage template renderer (Immich's tokens, presets and sanitising)."""

from __future__ import annotations

from datetime import datetime

import pytest
from darkroom_db.system_config import STORAGE_TEMPLATE_OPTIONS
from darkroom_storage import validate_key
from darkroom_storage.template import (
    TemplateAsset,
    TemplateError,
    already_placed,
    candidate_keys,
    compile_template,
    library_root,
    render_key,
    sanitize_filename,
    values_for,
)

ASSET_ID = "d587e44b-f8c0-4832-9ba3-43268bbf5d4e"
ROOT = "library/admin"


def asset(**changes: object) -> TemplateAsset:
    values: dict[str, object] = {
        "asset_id": ASSET_ID,
        "type": "IMAGE",
        "original_file_name": "IMG_0042.JPG",
        "current_key": f"upload/u/d5/87/{ASSET_ID}.jpeg",
        "captured": datetime(2023, 2, 5, 7, 8, 9, 45_000),
    }
    values.update(changes)
    return TemplateAsset(**values)  # type: ignore[arg-type]


def key(template: str, **changes: object) -> str | None:
    rendered = render_key(compile_template(template), asset(**changes), ROOT)
    return None if rendered is None else f"{rendered[0]}.{rendered[1]}"


def test_date_tokens_as_luxon_formats_them() -> None:
    tokens = [
        t for k, opts in STORAGE_TEMPLATE_OPTIONS.items() if k != "presetOptions" for t in opts
    ]
    values = values_for(asset())
    got = {t: values[t] for t in tokens}
    assert got == {
        "y": "2023", "yy": "23", "M": "2", "MM": "02", "MMM": "Feb", "MMMM": "February",
        "W": "5", "WW": "05", "d": "5", "dd": "05", "h": "7", "hh": "07", "H": "7", "HH": "07",
        "m": "8", "mm": "08", "s": "9", "ss": "09", "SSS": "045",
    }  # fmt: skip
    afternoon = values_for(asset(captured=datetime(2023, 12, 31, 0, 30)))
    assert (afternoon["h"], afternoon["hh"], afternoon["H"], afternoon["W"]) == (
        "12",
        "12",
        "0",
        "52",
    )


def test_asset_tokens() -> None:
    values = values_for(asset(type="VIDEO", current_key="upload/u/x/y.MOV"))
    assert values["filename"] == "IMG_0042"
    assert values["ext"] == "mov"
    assert (values["filetype"], values["filetypefull"]) == ("VID", "VIDEO")
    assert values["assetId"] == ASSET_ID
    assert values["assetIdShort"] == "43268bbf5d4e"
    assert values["album"] == "" and values["album-startDate-y"] == ""
    # Immich's extension aliases
    for src, ext in [("a.jpeg", "jpg"), ("a.TIF", "tiff"), ("a.3gpp", "3gp"), ("a.m2ts", "mts")]:
        assert values_for(asset(current_key=src))["ext"] == ext


def test_every_preset_renders_to_a_valid_key() -> None:
    for preset in STORAGE_TEMPLATE_OPTIONS["presetOptions"]:
        rendered = key(preset)
        assert rendered is not None and rendered.startswith(ROOT + "/"), preset
        validate_key(rendered)
    assert key("{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}") == f"{ROOT}/2023/2023-02-05/IMG_0042.jpg"
    assert key("{{y}}/{{y}}-{{WW}}/{{assetId}}") == f"{ROOT}/2023/2023-05/{ASSET_ID}.jpg"


def test_album_conditional_and_dates() -> None:
    preset = "{{y}}/{{#if album}}{{album}}{{else}}Other/{{MM}}{{/if}}/{{filename}}"
    assert key(preset) == f"{ROOT}/2023/Other/02/IMG_0042.jpg"
    assert key(preset, album="Trip. 2023") == f"{ROOT}/2023/Trip 2023/IMG_0042.jpg"
    # no album: {{album}} is empty and the empty folder collapses (Immich's "//" -> "/")
    assert key("{{album}}/{{filename}}") == f"{ROOT}/IMG_0042.jpg"
    dated = "{{#if album}}{{album-startDate-y}}-{{album-endDate-MM}} {{album}}{{/if}}/{{filename}}"
    got = key(
        dated,
        album="Rome",
        album_start=datetime(2022, 12, 30),
        album_end=datetime(2023, 1, 2),
    )
    assert got == f"{ROOT}/2022-01 Rome/IMG_0042.jpg"
    assert key("{{#unless album}}loose{{/unless}}/{{filename}}") == f"{ROOT}/loose/IMG_0042.jpg"


def test_html_escaping_as_handlebars_unless_triple_braces() -> None:
    assert (
        key("{{album}}/{{filename}}", album="Tom & Jerry") == f"{ROOT}/Tom &amp; Jerry/IMG_0042.jpg"
    )
    assert (
        key("{{{album}}}/{{filename}}", album="Tom & Jerry") == f"{ROOT}/Tom & Jerry/IMG_0042.jpg"
    )


def test_sanitising() -> None:
    assert sanitize_filename('a/b\\c:d*e?f"g<h>i|j') == "abcdefghij"
    assert sanitize_filename("..") == "" and sanitize_filename("con.txt") == ""
    assert sanitize_filename("name. ") == "name"
    # a hostile file name or album cannot climb out of the user's folder
    assert (
        key("{{filename}}", original_file_name="../../etc/passwd.jpg")
        == f"{ROOT}/....etcpasswd.jpg"
    )
    assert key("{{{album}}}/{{filename}}", album="../..") == f"{ROOT}/IMG_0042.jpg"
    # nor can the template itself: such a path is refused (the file stays where it is)
    assert key("../../{{filename}}") is None
    assert key("a/../{{filename}}") == f"{ROOT}/IMG_0042.jpg"
    # control characters and backslashes never reach a key; long segments are cut
    assert key("x\\y\x01/{{filename}}") == f"{ROOT}/xy/IMG_0042.jpg"
    long = key("{{filename}}", original_file_name="é" * 300 + ".jpg")
    assert long is not None
    validate_key(long)
    assert library_root("u-1", None) == "library/u-1"
    assert library_root("u-1", "bob") == "library/bob"
    assert library_root("u-1", "..") == "library/u-1"


def test_strict_unknown_tokens_and_bad_blocks_are_refused() -> None:
    for bad in ["{{nope}}", "{{#if nope}}x{{/if}}", "{{#each album}}{{/each}}", "{{#if album}}x",
                "x{{/if}}", "{{else}}", "{{#if album}}x{{/unless}}"]:  # fmt: skip
        with pytest.raises(TemplateError):
            compile_template(bad)
    assert compile_template("{{y}}/{{album}}").needs_album
    assert not compile_template("{{y}}/{{filename}}").needs_album


def test_collision_suffixes() -> None:
    keys = candidate_keys(f"{ROOT}/2023/IMG", "jpg")
    assert [next(keys) for _ in range(3)] == [
        f"{ROOT}/2023/IMG.jpg",
        f"{ROOT}/2023/IMG+1.jpg",
        f"{ROOT}/2023/IMG+2.jpg",
    ]
    base = f"{ROOT}/2023/IMG"
    assert already_placed(f"{base}.jpg", base, "jpg")
    assert already_placed(f"{base}+7.jpg", base, "jpg")
    assert not already_placed(f"{base}+x.jpg", base, "jpg")
    assert not already_placed(f"{base}2.jpg", base, "jpg")
    assert not already_placed("upload/u/ab/cd/x.jpg", base, "jpg")
