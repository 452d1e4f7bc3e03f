"""Uploads: PDF, JPEG or PNG by content (not by name), at most XINYIPI_MAX_UPLOAD_MB, stored by
SHA-256; a refused file leaves nothing behind."""
from __future__ import annotations

import hashlib
import io
import os

from plugin.applications.materials import CaseMaterial, blob_path, store_file
from tests.portal.conftest import JPEG, PDF, PNG, file, make_app, sign_in_applicant, start_draft
from tests.helpers import demo_code

INSTANT = "000117006000-HK"


def _blobs(upload_dir) -> list[str]:
    out = []
    for root, _dirs, files in os.walk(upload_dir):
        out += [f for f in files]
    return out


def _post(client, number, **files):
    data = {"action": "save", "contact_name": "王小明"}
    data.update({f"file_{code}": f for code, f in files.items()})
    return client.post(f"/portal/cases/{number}/draft", data=data, content_type="multipart/form-data")


def test_type_is_decided_by_content_not_by_name(applicant, portal_app):
    client = applicant("red")
    number = start_draft(client, INSTANT)
    upload_dir = portal_app.config["XINYIPI_UPLOAD_DIR"]
    r = _post(client, number, M001=file(b"MZ\x90\x00 not a pdf at all", "申请书.pdf"))
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "不是 PDF、JPEG 或 PNG 文件" in page and 'id="m-M001-error"' in page
    assert 'aria-invalid="true"' in page and "有文件未能保存" in page
    assert CaseMaterial.select().count() == 0 and _blobs(upload_dir) == []
    # the other fields of the same request are kept
    assert 'value="王小明"' in page
    # a JPEG named .pdf is stored as the JPEG it is; a PNG named .txt as a PNG
    assert _post(client, number, M001=file(JPEG, "扫描件.pdf"), M007=file(PNG, "平面图.txt")).status_code == 302
    rows = {m.material_code: m for m in CaseMaterial.select()}
    assert rows["M001"].content_type == "image/jpeg" and rows["M007"].content_type == "image/png"
    assert rows["M001"].sha256 == hashlib.sha256(JPEG).hexdigest()
    assert os.path.exists(blob_path(upload_dir, rows["M001"].sha256))
    r = client.get(f"/portal/cases/{number}/files/M001")
    assert r.status_code == 200 and r.data == JPEG and r.mimetype == "image/jpeg"
    # empty files are refused too
    r = _post(client, number, M009=file(b"", "空.pdf"))
    assert r.status_code == 422 and "空文件" in r.get_data(as_text=True)


def test_same_content_is_stored_once(applicant, portal_app):
    client = applicant("red")
    number = start_draft(client, INSTANT)
    assert _post(client, number, M001=file(PDF, "a.pdf"), M007=file(PDF, "b.pdf")).status_code == 302
    sha = hashlib.sha256(PDF).hexdigest()
    assert _blobs(portal_app.config["XINYIPI_UPLOAD_DIR"]) == [sha]
    assert {m.sha256 for m in CaseMaterial.select()} == {sha}
    assert blob_path(portal_app.config["XINYIPI_UPLOAD_DIR"], sha).endswith(f"{sha[:2]}/{sha[2:4]}/{sha}")


def test_too_large_file_is_refused_and_nothing_stored(seeded, database_url, tmp_path):
    app = make_app(database_url, tmp_path, XINYIPI_MAX_UPLOAD_MB=1)
    client = app.test_client()
    sign_in_applicant(client, demo_code("red"))
    number = start_draft(client, INSTANT)
    big = PDF + b"0" * (1024 * 1024)                  # just over 1 MB
    r = _post(client, number, M001=file(big, "大文件.pdf"), M007=file(PDF, "平面图.pdf"))
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "超过大小上限 1 MB" in page and 'id="m-M001-error"' in page
    assert [m.material_code for m in CaseMaterial.select()] == ["M007"]        # the good one is kept
    assert _blobs(app.config["XINYIPI_UPLOAD_DIR"]) == [hashlib.sha256(PDF).hexdigest()]
    # a request larger than a whole batch of files gets a clear page, and nothing is stored
    huge = PDF + b"0" * (6 * 1024 * 1024 + 10)
    r = _post(client, number, M009=file(huge, "巨大.pdf"))
    assert r.status_code == 413
    assert "上传的内容过大" in r.get_data(as_text=True)
    assert [m.material_code for m in CaseMaterial.select()] == ["M007"]
    assert len(_blobs(app.config["XINYIPI_UPLOAD_DIR"])) == 1


def test_store_file_streams_and_cleans_up(tmp_path):
    stored = store_file(io.BytesIO(PNG), "../../etc/图.png", str(tmp_path), 1)
    assert stored.filename == "图.png" and stored.content_type == "image/png" and stored.size == len(PNG)
    try:
        store_file(io.BytesIO(b"%PDF-" + b"x" * (1024 * 1024)), "x.pdf", str(tmp_path), 1, "营业执照")
    except ValueError as e:
        assert "“营业执照”超过大小上限 1 MB" in str(e)
    else:
        raise AssertionError("a file over the limit was stored")
    assert sorted(_blobs(tmp_path)) == [stored.sha256]        # no temporary file left behind


def test_waived_and_elicence_materials_take_no_upload(applicant):
    client = applicant("red")
    number = start_draft(client, INSTANT)
    page = client.get(f"/portal/cases/{number}/draft").get_data(as_text=True)
    assert 'name="file_M008"' not in page and 'name="file_M002"' not in page     # waived for red; e-licence
    r = _post(client, number, M008=file(PDF, "卫生管理制度.pdf"))
    assert r.status_code == 422 and "本办件不需要这项材料" in r.get_data(as_text=True)
    assert CaseMaterial.select().count() == 0
