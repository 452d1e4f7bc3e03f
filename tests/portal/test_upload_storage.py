"""Upload storage (issue #12): an applicant cannot fill the disk (a per-applicant quota of distinct
files, XINYIPI_UPLOAD_QUOTA_MB, refused with a clear message and nothing kept), and files nobody
refers to any more (replaced, discarded drafts, unfinished uploads) are deleted by `xinyipi tick`
after the grace period, while every file a row refers to stays. Real databases, real upload dir."""
from __future__ import annotations

import hashlib
import os
import time

import pytest

from plugin.applications.materials import TEMP_PREFIX, CaseMaterial, blob_path, sweep_unreferenced
from tests.helpers import demo_code
from tests.portal.conftest import PDF, file, file_inputs, make_app, sign_in_applicant, start_draft

INSTANT = "000117006000-HK"          # 公共场所卫生许可证核发: M001, M007, M009 may be uploaded
SMALL_CATERING = "000129002000-HK"   # 小餐饮经营登记: another matter, another draft
MB = 1024 * 1024


def pdf(size_mb: float, tag: str) -> bytes:
    """A file the type check takes for a PDF, of `size_mb` MB, distinct per `tag`."""
    head = PDF + tag.encode()
    return head + b"\0" * (int(size_mb * MB) - len(head))


def _post(client, number, **files):
    data = {"action": "save", "contact_name": "王小明"}
    data.update({f"file_{code}": f for code, f in files.items()})
    return client.post(f"/portal/cases/{number}/draft", data=data, content_type="multipart/form-data")


def _blobs(upload_dir) -> set[str]:
    return {name for _root, _dirs, files in os.walk(upload_dir) for name in files}


def _age(path: str, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


@pytest.fixture
def small_quota(seeded, database_url, tmp_path):
    return make_app(database_url, tmp_path, XINYIPI_UPLOAD_QUOTA_MB=2)


def _red(app):
    client = app.test_client()
    sign_in_applicant(client, demo_code("red"))
    return client


def test_an_applicant_cannot_store_more_than_the_quota(small_quota):
    """The attack: one applicant uploads file after file (across drafts) to fill the server's disk."""
    client = _red(small_quota)
    upload_dir = small_quota.config["XINYIPI_UPLOAD_DIR"]
    first = start_draft(client, INSTANT)
    assert _post(client, first, M001=file(pdf(0.9, "a"), "a.pdf"), M007=file(pdf(0.9, "b"), "b.pdf")).status_code == 302
    second = start_draft(client, SMALL_CATERING)              # another draft shares the same quota
    assert second != first and "M001" in file_inputs(client, second)
    r = _post(client, second, M001=file(pdf(0.9, "c"), "c.pdf"))
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "存储空间上限为 2 MB" in page and "已用 1.8 MB" in page and "删除不再需要的申请草稿或文件" in page
    assert 'id="m-M001-error"' in page
    assert len(_blobs(upload_dir)) == 2                       # the refused file left nothing behind
    assert not CaseMaterial.select().where(CaseMaterial.sha256 == hashlib.sha256(pdf(0.9, "c")).hexdigest()).exists()
    # the same content again costs nothing: it is stored once
    assert _post(client, second, M001=file(pdf(0.9, "a"), "again.pdf")).status_code == 302
    # replacing a file of one's own frees its room
    assert _post(client, first, M007=file(pdf(0.9, "d"), "d.pdf")).status_code == 302
    # discarding a draft frees the room its files took
    assert client.post(f"/portal/cases/{first}/discard").status_code == 302
    r = _post(client, second, M009=file(pdf(0.9, "e"), "e.pdf"))
    assert r.status_code == 302, (file_inputs(client, second), r.get_data(as_text=True)[-3000:])
    # another applicant has a quota of their own
    other = small_quota.test_client()
    sign_in_applicant(other, demo_code("blue"))
    theirs = start_draft(other, INSTANT)
    code = file_inputs(other, theirs)[0]
    assert _post(other, theirs, **{code: file(pdf(1.5, "f"), "f.pdf")}).status_code == 302


def test_the_quota_refusal_is_english_under_en(small_quota):
    client = _red(small_quota)
    number = start_draft(client, INSTANT)
    assert _post(client, number, M001=file(pdf(1.5, "a"), "a.pdf")).status_code == 302
    client.get("/portal/?lang=en")
    r = _post(client, number, M007=file(pdf(1.5, "b"), "b.pdf"))
    assert r.status_code == 422 and "storage limit of 2 MB" in r.get_data(as_text=True)


def test_tick_sweeps_files_no_row_refers_to_after_the_grace_period(seeded, database_url, tmp_path, cli_runner,
                                                                   monkeypatch):
    app = make_app(database_url, tmp_path)
    upload_dir = app.config["XINYIPI_UPLOAD_DIR"]
    monkeypatch.setenv("XINYIPI_UPLOAD_DIR", upload_dir)     # the CLI's app uses the same directory
    client = _red(app)
    number = start_draft(client, INSTANT)
    replaced, kept, shared = pdf(0.1, "replaced"), pdf(0.1, "kept"), pdf(0.1, "shared")
    assert _post(client, number, M001=file(replaced, "old.pdf"), M009=file(shared, "s.pdf")).status_code == 302
    assert _post(client, number, M001=file(kept, "new.pdf")).status_code == 302        # replaces M001's file
    # another applicant's draft holds the same content as one that will be discarded
    other = app.test_client()
    sign_in_applicant(other, demo_code("blue"))
    other_number = start_draft(other, INSTANT)
    assert _post(other, other_number, M009=file(shared, "mine.pdf")).status_code == 302
    discarded = start_draft(client, SMALL_CATERING)
    abandoned = pdf(0.1, "abandoned")
    assert _post(client, discarded, M001=file(abandoned, "x.pdf"), M009=file(shared, "s.pdf")).status_code == 302
    assert client.post(f"/portal/cases/{discarded}/discard").status_code == 302
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in
           (("replaced", replaced), ("kept", kept), ("shared", shared), ("abandoned", abandoned))}
    young_orphan = pdf(0.1, "young")
    young_sha = hashlib.sha256(young_orphan).hexdigest()
    os.makedirs(os.path.dirname(blob_path(upload_dir, young_sha)), exist_ok=True)
    with open(blob_path(upload_dir, young_sha), "wb") as f:          # stored a moment ago, row not yet written
        f.write(young_orphan)
    unfinished = os.path.join(upload_dir, TEMP_PREFIX + "crashed")
    with open(unfinished, "wb") as f:
        f.write(b"half an upload")
    foreign = os.path.join(upload_dir, "README.txt")                 # not ours: never touched
    with open(foreign, "w") as f:
        f.write("x")
    for name in ("replaced", "kept", "shared", "abandoned"):
        _age(blob_path(upload_dir, sha[name]), hours=48)
    _age(unfinished, hours=48)
    _age(foreign, hours=48)

    result = cli_runner("tick")
    assert result.exit_code == 0, result.output
    assert "uploads: removed 3 unreferenced file(s)" in result.stdout
    present = _blobs(upload_dir)
    assert sha["replaced"] not in present and sha["abandoned"] not in present
    assert TEMP_PREFIX + "crashed" not in present
    assert {sha["kept"], sha["shared"], young_sha, "README.txt"} <= present
    # what stays is served
    assert client.get(f"/portal/cases/{number}/files/M001").data == kept
    assert other.get(f"/portal/cases/{other_number}/files/M009").data == shared
    # once the young file is past the grace period and still unreferenced, it goes too
    _age(blob_path(upload_dir, young_sha), hours=25)
    assert sweep_unreferenced(upload_dir, grace_hours=24).removed == 1
    assert young_sha not in _blobs(upload_dir)


def test_a_file_uploaded_again_is_young_again(seeded, database_url, tmp_path):
    """The race: the sweep looks at an old unreferenced file just as someone uploads the same content."""
    app = make_app(database_url, tmp_path)
    upload_dir = app.config["XINYIPI_UPLOAD_DIR"]
    client = _red(app)
    number = start_draft(client, INSTANT)
    data = pdf(0.1, "again")
    assert _post(client, number, M001=file(data, "a.pdf")).status_code == 302
    path = blob_path(upload_dir, hashlib.sha256(data).hexdigest())
    assert client.post(f"/portal/cases/{number}/discard").status_code == 302
    _age(path, hours=48)
    second = start_draft(client, SMALL_CATERING)
    assert _post(client, second, M001=file(data, "a.pdf")).status_code == 302          # the same content
    assert os.stat(path).st_mtime > time.time() - 60
    assert sweep_unreferenced(upload_dir, grace_hours=24).removed == 0
    assert os.path.exists(path)
