"""An XMP sidecar uploaded with a photo (sidecarData, as @immich/cli sends it) overrides the
photo's embedded capture time, GPS and description."""

from __future__ import annotations

import pyvips

from .conftest import User
from .test_pipeline import wait_for_thumbnails

XMP = b"""<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/">
   <exif:DateTimeOriginal>2011-07-14T09:30:00+02:00</exif:DateTimeOriginal>
   <exif:GPSLatitude>48,51.5N</exif:GPSLatitude>
   <exif:GPSLongitude>2,17.7E</exif:GPSLongitude>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">Sidecar says hello</rdf:li></rdf:Alt>
   </dc:description>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>"""


def test_sidecar_overrides_embedded_metadata(admin: User) -> None:
    photo = (pyvips.Image.xyz(120, 80).extract_band(1).cast("uchar") * 2).jpegsave_buffer()
    r = admin.client.post(
        "/api/assets",
        files={
            "assetData": ("side.jpg", photo, "image/jpeg"),
            "sidecarData": ("side.jpg.xmp", XMP, "application/xml"),
        },
        data={
            "deviceAssetId": "side",
            "deviceId": "pytest",
            "fileCreatedAt": "2020-01-01T00:00:00Z",
            "fileModifiedAt": "2020-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    assert wait_for_thumbnails(admin, [asset_id], timeout=30)
    info = admin.client.get(f"/api/assets/{asset_id}").json()
    exif = info["exifInfo"]
    assert exif["dateTimeOriginal"].startswith("2011-07-14T07:30:00")  # 09:30 at +02:00
    assert info["localDateTime"].startswith("2011-07-14T09:30:00")
    assert abs(exif["latitude"] - 48.858) < 0.01 and abs(exif["longitude"] - 2.295) < 0.01
    assert exif["city"] and exif["country"] == "France"
    assert exif["description"] == "Sidecar says hello"
