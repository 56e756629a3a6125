"""The server starts, streams a byte-exact range, and lists the shared folder."""


def test_two_byte_probe_returns_exactly_two_bytes(server, media_root):
    response = server.request("/media/1/clip.mp4", headers={"Range": "bytes=0-1"})
    assert response.status == 206
    assert response.body == (media_root / "clip.mp4").read_bytes()[:2]
    assert response.header("Content-Range") == f"bytes 0-1/{(media_root / 'clip.mp4').stat().st_size}"


def test_folder_listing_shows_media_and_folders_only(server):
    import json

    folders = json.loads(server.request("/api/folders").body)["folders"]
    assert len(folders) == 1
    items = json.loads(server.request(f"/api/folders/{folders[0]['id']}/items?path=").body)["items"]
    assert [(i["name"], i["type"]) for i in items] == [("Series", "dir"), ("clip.mp4", "video")]
    assert items[1]["subtitles"][0]["language"] == "en"
