"""The pairing rules of Takeout's sidecar names (pure, no I/O)."""

from __future__ import annotations

import pytest
from darkroom_import.pairing import album_title, json_key, media_name, pair_folder
from darkroom_import.sidecar import decode


def _pair(media: list[str], jsons: list[str] | dict[str, str | None]) -> dict[str, str | None]:
    sidecars = jsons if isinstance(jsons, dict) else dict.fromkeys(jsons)
    return pair_folder(media, sidecars)


@pytest.mark.parametrize(
    ("name", "stem", "counter"),
    [
        ("IMG_1234.jpg.json", "IMG_1234.jpg", 0),
        ("IMG_1234.jpg.supplemental-metadata.json", "IMG_1234.jpg", 0),
        ("IMG_1234.jpg.supplemental-metad.json", "IMG_1234.jpg", 0),
        ("IMG_1234.jpg.suppl.json", "IMG_1234.jpg", 0),
        ("IMG_1234.jpg.s.json", "IMG_1234.jpg", 0),
        ("IMG_1234.jpg(1).json", "IMG_1234.jpg", 1),
        ("IMG_1234.jpg.supplemental-metadata(2).json", "IMG_1234.jpg", 2),
        ("Peanut Butter Balls.supplemental-metadata.json", "Peanut Butter Balls", 0),
        (
            "A_name_of_exactly_forty_five_characters_x.jpg..json",
            "A_name_of_exactly_forty_five_characters_x.jpg",
            0,
        ),
    ],
)
def test_json_key_reads_every_variant(name: str, stem: str, counter: int) -> None:
    key = json_key(name)
    assert (key.stem, key.counter) == (stem, counter)


def test_media_name_counter_and_edited_copy() -> None:
    assert media_name("IMG_1234(1).jpg") == media_name("IMG_1234(1).jpg")
    assert media_name("IMG_1234(1).jpg").name == "IMG_1234.jpg"
    assert media_name("IMG_1234(1).jpg").counter == 1
    assert media_name("IMG_1234-edited.jpg").original == "IMG_1234.jpg"
    assert media_name("IMG_1234-bearbeitet(2).JPG").original == "IMG_1234.JPG"
    assert media_name("IMG_1234.jpg").original is None


def test_plain_and_supplemental_sidecars() -> None:
    media = ["a.jpg", "b.jpg", "c.jpg", "d.heic"]
    jsons = [
        "a.jpg.json",
        "b.jpg.supplemental-metadata.json",
        "c.jpg.supplem.json",
        "d.heic.s.json",
    ]
    assert _pair(media, jsons) == {
        "a.jpg": "a.jpg.json",
        "b.jpg": "b.jpg.supplemental-metadata.json",
        "c.jpg": "c.jpg.supplem.json",
        "d.heic": "d.heic.s.json",
    }


def test_same_name_duplicates_get_their_own_sidecar() -> None:
    media = ["IMG_1234.jpg", "IMG_1234(1).jpg", "IMG_5(2).jpg"]
    jsons = ["IMG_1234.jpg.json", "IMG_1234.jpg(1).json", "IMG_5.jpg.supplemental-metadata(2).json"]
    assert _pair(media, jsons) == {
        "IMG_1234.jpg": "IMG_1234.jpg.json",
        "IMG_1234(1).jpg": "IMG_1234.jpg(1).json",
        "IMG_5(2).jpg": "IMG_5.jpg.supplemental-metadata(2).json",
    }


def test_a_name_that_really_ends_in_a_counter() -> None:
    assert _pair(["Scan (2).jpg"], ["Scan (2).jpg.json"]) == {"Scan (2).jpg": "Scan (2).jpg.json"}


def test_long_names_cut_at_46_and_47_characters() -> None:
    title = "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINAL.jpg"
    media_file = "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg"  # stem cut to 47
    old_json = title[:46] + ".json"
    new_title = "Holiday_at_the_lake_with_everyone_2019.jpg"  # 42: the suffix is cut to ".supp"
    new_json = (new_title + ".supplemental-metadata")[:46] + ".json"
    assert new_json == "Holiday_at_the_lake_with_everyone_2019.jpg.sup.json"
    assert _pair([media_file, new_title], [old_json, new_json]) == {
        media_file: old_json,
        new_title: new_json,
    }


def test_missing_extension_and_the_title_inside() -> None:
    assert (
        _pair(["Peanut Butter Balls.jpg"], ["Peanut Butter Balls.supplemental-metadata.json"])[
            "Peanut Butter Balls.jpg"
        ]
        == "Peanut Butter Balls.supplemental-metadata.json"
    )
    # a cut no rule predicts (multi-byte names): the JSON's title names the media
    odd = {"😀😃😄.json": "😀😃😄😁😆.jpg"}
    assert _pair(["😀😃😄😁😆.jpg"], odd) == {"😀😃😄😁😆.jpg": "😀😃😄.json"}


def test_edited_copy_shares_the_original_sidecar() -> None:
    media = ["IMG_7.jpg", "IMG_7-edited.jpg", "IMG_8-modifié.jpg"]
    jsons = ["IMG_7.jpg.supplemental-metadata.json", "IMG_8.jpg.json"]
    assert _pair(media, jsons) == {
        "IMG_7.jpg": "IMG_7.jpg.supplemental-metadata.json",
        "IMG_7-edited.jpg": "IMG_7.jpg.supplemental-metadata.json",
        "IMG_8-modifié.jpg": "IMG_8.jpg.json",
    }


def test_motion_photo_video_shares_the_still_sidecar_and_strangers_get_none() -> None:
    media = ["IMG_9.HEIC", "IMG_9.MP4", "other.jpg"]
    assert _pair(media, ["IMG_9.HEIC.json"]) == {
        "IMG_9.HEIC": "IMG_9.HEIC.json",
        "IMG_9.MP4": "IMG_9.HEIC.json",
        "other.jpg": None,
    }


def test_albums_and_year_folders() -> None:
    assert album_title("Photos from 2019", None) is None
    assert album_title("Fotos von 2020", None) is None
    assert album_title("Trash", None) is None
    assert album_title("Rome 2019", None) == "Rome 2019"
    assert album_title("Rome(1)", "Rome in spring") == "Rome in spring"


def test_sidecar_fields() -> None:
    media = decode(
        b'{"title":"a.jpg","description":"Lake","photoTakenTime":{"timestamp":"1562500000"},'
        b'"geoData":{"latitude":0.0,"longitude":0.0},'
        b'"geoDataExif":{"latitude":46.5,"longitude":6.6},"favorited":true,"imageViews":"3"}'
    )
    assert media is not None and media.is_media
    assert media.taken_at is not None and media.taken_at.isoformat() == "2019-07-07T11:46:40+00:00"
    assert media.location == (46.5, 6.6)  # geoData 0/0 means unknown: the file's own
    album = decode(b'{"title":"Rome","description":"","access":"protected"}')
    assert album is not None and not album.is_media
    assert decode(b"[1, 2]") is None
