"""`import_data` and the office's upload → preview → confirm pages."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from admissions.models import Candidate, ProvincePolicy, Season
from callback_office.nav import NAV_ITEMS
from callback_office.roles import Role
from tests.imports.conftest import HEADERS, POLICY_ROWS, candidate_row, kind_xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# --- command ----------------------------------------------------------------------------------------


@pytest.mark.sqlite
def test_command_imports_dry_runs_and_reports(tmp_path, capsys):
    path = tmp_path / "policies.xlsx"
    path.write_bytes(kind_xlsx("policies", POLICY_ROWS))
    call_command("import_data", "policies", str(path), "--season", "2025", "--dry-run")
    assert (
        "试导入（未写入）dry run: 省份政策（2025年度）共 3 行：将新增 3，将更新 0，未变 0"
        in capsys.readouterr().out
    )
    assert not Season.objects.filter(year=2025).exists()
    call_command("import_data", "policies", str(path), "--season", "2025")
    assert "已新增 3" in capsys.readouterr().out
    call_command("import_data", "policies", str(path), "--season", "2025")
    assert "已新增 0，已更新 0，未变 3" in capsys.readouterr().out
    assert ProvincePolicy.objects.filter(season__year=2025).count() == 3


@pytest.mark.sqlite
def test_command_lists_every_error_and_fails(tmp_path, capsys):
    path = tmp_path / "candidates.xlsx"
    path.write_bytes(kind_xlsx("candidates", [candidate_row(1), candidate_row(2, province="火星")]))
    with pytest.raises(CommandError, match="2 处错误，没有任何改动"):
        call_command("import_data", "candidates", str(path), "--season", "2023")
    err = capsys.readouterr().err
    assert "第2行「省份」：未知省份“四川”" in err
    assert "第3行「省份」：未知省份“火星”" in err
    assert "row 3, column 省份: unknown province '火星'" in err
    assert Candidate.objects.count() == 0


@pytest.mark.sqlite
def test_command_writes_templates(tmp_path):
    out = tmp_path / "roster.xlsx"
    call_command("import_data", "--template", "roster", str(out))
    ws = openpyxl.load_workbook(out).worksheets[0]
    assert [c.value for c in ws[1]] == HEADERS["roster"]
    with pytest.raises(CommandError, match="usage"):
        call_command("import_data", "--template", "nonsense", str(out))
    with pytest.raises(CommandError, match="--season"):
        call_command("import_data", "roster", str(out))


# --- office UI --------------------------------------------------------------------------------------


def upload(client, kind, data, *, name="list.xlsx", year=2023):
    return client.post(
        reverse("imports:preview"),
        {"kind": kind, "season_year": year, "file": SimpleUploadedFile(name, data)},
    )


def test_nav_item_for_the_office_only():
    item = next(i for i in NAV_ITEMS if i.url_name == "imports:index")
    assert item.roles == frozenset({Role.OFFICE})


def test_only_the_office_may_import(client, caller, leader, supervisor):
    for user in (caller.user, leader.user, supervisor.user):
        client.force_login(user)
        assert client.get(reverse("imports:index")).status_code == 403
        assert upload(client, "policies", kind_xlsx("policies", POLICY_ROWS)).status_code == 403
        assert client.post(reverse("imports:confirm"), {"token": "0" * 32}).status_code == 403
        assert client.get(reverse("imports:template", args=["roster"])).status_code == 403
    client.logout()
    assert client.get(reverse("imports:index")).status_code == 302
    assert not Season.objects.filter(year=2023, provinces__isnull=False).exists()


def test_preview_then_confirm(client, office_user, media_root):
    client.force_login(office_user)
    page = client.get(reverse("imports:index"))
    assert page.status_code == 200
    assert "数据导入" in page.content.decode()

    preview = upload(client, "policies", kind_xlsx("policies", POLICY_ROWS), year=2026)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "确认导入" in html and 'data-count="created">3<' in html
    assert "<td>广西</td>" in html
    assert not Season.objects.filter(year=2026).exists()
    token = preview.context["token"]
    stored = Path(media_root) / "imports" / f"{token}.xlsx"
    assert stored.is_file()

    done = client.post(reverse("imports:confirm"), {"token": token})
    assert done.status_code == 200
    assert done.context["result"].committed
    assert "已写入" in done.content.decode()
    assert ProvincePolicy.objects.filter(season__year=2026).count() == 3
    assert not stored.exists()
    again = client.post(reverse("imports:confirm"), {"token": token})
    assert again.context["expired"] is True
    assert ProvincePolicy.objects.filter(season__year=2026).count() == 3


def test_preview_shows_the_error_table_and_keeps_no_file(client, office_user, media_root):
    client.force_login(office_user)
    rows = [["A1", "2023-09-08"], ["A2", "2023-02-30"]]
    response = upload(client, "registrations", kind_xlsx("registrations", rows))
    html = response.content.decode()
    assert "发现 1 处错误，没有任何改动" in html
    assert '<td class="num">3</td><td>报到日期</td><td>日期无法识别：“2023-02-30”' in html
    assert "token" not in response.context
    assert list((Path(media_root) / "imports").glob("*.xlsx")) == []


def test_preview_rejects_non_xlsx_content_whatever_the_name(client, office_user, media_root):
    client.force_login(office_user)
    response = upload(client, "policies", b"\xd0\xcf\x11\xe0 old xls or anything", name="policies.xlsx")
    assert "不是 Excel 工作簿（.xlsx）文件" in response.content.decode()
    assert not (Path(media_root) / "imports").exists()


def test_preview_rejects_too_large_files(client, office_user, settings):
    client.force_login(office_user)
    settings.IMPORT_MAX_BYTES = 100
    response = upload(client, "policies", kind_xlsx("policies", POLICY_ROWS))
    assert "文件过大" in response.content.decode()


def test_confirm_refuses_tokens_of_other_sessions(client, office_user, media_root):
    client.force_login(office_user)
    folder = Path(media_root) / "imports"
    folder.mkdir(parents=True)
    (folder / f"{'a' * 32}.xlsx").write_bytes(kind_xlsx("policies", POLICY_ROWS))
    response = client.post(reverse("imports:confirm"), {"token": "a" * 32})
    assert response.context["expired"] is True
    assert client.post(reverse("imports:confirm"), {"token": "../../etc/passwd"}).status_code == 404
    assert not ProvincePolicy.objects.exists()


def test_template_download(client, office_user):
    client.force_login(office_user)
    response = client.get(reverse("imports:template", args=["candidates"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="candidates-template.xlsx"'
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in ws[1]] == HEADERS["candidates"]
    assert client.get(reverse("imports:template", args=["nothing"])).status_code == 404


@pytest.mark.redis
def test_large_files_are_committed_by_a_worker(
    client, office_user, media_root, monkeypatch, django_capture_on_commit_callbacks
):
    import django_rq
    from rq import SimpleWorker

    from callback_office import import_views

    conn = django_rq.get_connection("imports")
    conn.flushdb()
    monkeypatch.setattr(import_views, "BACKGROUND_ROWS", 2)
    client.force_login(office_user)
    token = upload(client, "policies", kind_xlsx("policies", POLICY_ROWS), year=2027).context["token"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:confirm"), {"token": token})
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").split("/")[-1]
    assert not ProvincePolicy.objects.filter(season__year=2027).exists()
    assert client.get(reverse("imports:job_result", args=[job_id]))["Location"] == response["Location"]

    django_rq.get_worker("imports", worker_class=SimpleWorker).work(burst=True)
    assert ProvincePolicy.objects.filter(season__year=2027).count() == 3
    assert not (Path(media_root) / "imports" / f"{token}.xlsx").exists()
    page = client.get(reverse("imports:job_result", args=[job_id]))
    assert page.context["result"].committed
    assert 'data-count="created">3<' in page.content.decode()
    job_page = client.get(response["Location"])
    assert reverse("imports:job_result", args=[job_id]) in job_page.content.decode()
    conn.flushdb()
