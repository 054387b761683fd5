"""The exports page: the office sees who exported what and when; everyone else sees their own.
A job's page and its file are only ever the asker's (the file holds the rows of their scope)."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from supplycoord.models import ExportJob, ExportStatus
from supplycoord.permissions import access_scope

LIST_URL = "/exports/"


def job_of(user, *, title, status=ExportStatus.DONE, content=b"PK"):
    job = ExportJob.objects.create(
        requested_by=user,
        exporter="allocation.exports.AllocationLedgerExport",
        title=title,
        params={"item": ["FH001"]},
        language="zh-hans",
        filename=f"{title}.xlsx",
        status=status,
        row_count=12_345,
        scope=access_scope(user),
        expires_at=timezone.now() + dt.timedelta(hours=24),
    )
    if status == ExportStatus.DONE:
        job.file.save(f"{title}.xlsx", ContentFile(content))
    return job


@pytest.fixture
def jobs(office, officer, outsider):
    return {
        "office": job_of(office, title="office-ledger"),
        "officer": job_of(officer, title="officer-ledger", content=b"officer's rows"),
    }


def test_the_office_sees_every_export_with_who_asked_for_it(client, office, officer, jobs):
    client.force_login(office)

    page = client.get(LIST_URL)

    assert page.status_code == 200
    assert {job.title for job in page.context["jobs"]} == {"office-ledger", "officer-ledger"}
    html = page.content.decode()
    assert "导出记录" in html  # the page is in Chinese by default
    assert officer.username in html or officer.get_full_name() in html
    assert "item=FH001" in html


def test_an_officer_sees_only_their_own_exports(client, officer, jobs):
    client.force_login(officer)

    page = client.get(LIST_URL)

    assert [job.title for job in page.context["jobs"]] == ["officer-ledger"]
    assert "office-ledger" not in page.content.decode()


def test_an_outsider_sees_none_of_the_others_exports_nor_their_files(client, outsider, jobs):
    client.force_login(outsider)

    assert list(client.get(LIST_URL).context["jobs"]) == []
    officers = jobs["officer"]
    assert client.get(reverse("exports:job", args=[officers.pk])).status_code == 404
    assert client.get(reverse("exports:download", args=[officers.pk])).status_code == 404
    assert client.get(reverse("exports:job", args=["not-a-number"])).status_code == 404


def test_the_office_does_not_download_an_officers_file(client, office, jobs):
    # The office sees that it was made and by whom; the file is the officer's scope.
    client.force_login(office)

    assert client.get(reverse("exports:download", args=[jobs["officer"].pk])).status_code == 404


def test_the_asker_downloads_their_own_file(client, officer, jobs):
    client.force_login(officer)
    officers = jobs["officer"]

    assert client.get(reverse("exports:job", args=[officers.pk])).status_code == 200
    response = client.get(reverse("exports:download", args=[officers.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"officer's rows"
    assert "attachment" in response["Content-Disposition"]


def test_an_unfinished_or_expired_export_has_no_download(client, officer):
    queued = job_of(officer, title="queued", status=ExportStatus.QUEUED)
    expired = job_of(officer, title="expired", status=ExportStatus.EXPIRED)
    client.force_login(officer)

    for job in (queued, expired):
        assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404
        assert client.get(reverse("exports:job", args=[job.pk])).status_code == 200


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, jobs):
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_list_reads_a_constant_number_of_queries(
    client, office, officer, jobs, django_assert_max_num_queries
):
    for index in range(20):
        job_of(officer, title=f"more-{index}", status=ExportStatus.QUEUED)
    client.force_login(office)

    with django_assert_max_num_queries(8):
        assert client.get(LIST_URL).status_code == 200


# --- Review round 1: the file is the asker's only while their access and the file last ------

AGAIN = "此导出文件已删除。请重新导出以获取新文件。"  # "…removed. Export again to get a fresh one."


def assert_no_link(page, job):
    html = page.content.decode()
    assert reverse("exports:download", args=[job.pk]) not in html
    assert 'id="export-ready"' not in html
    assert page.context["job"].status == ExportStatus.EXPIRED
    assert AGAIN in html


@pytest.mark.parametrize("change", ["moved to Tianshui", "made a reporter"])
def test_an_officer_whose_access_changed_no_longer_gets_their_file(
    client, officer, outsider, tianshui, jobs, change
):
    from supplycoord.models import Role

    officers = jobs["officer"]
    page_url = reverse("exports:job", args=[officers.pk])
    download_url = reverse("exports:download", args=[officers.pk])
    client.force_login(officer)
    assert reverse("exports:download", args=[officers.pk]) in client.get(page_url).content.decode()

    if change == "moved to Tianshui":
        officer.prefecture = tianshui
    else:
        officer.role, officer.prefecture = Role.PRODUCER_REPORTER, None
    officer.save()

    response = client.get(download_url)
    assert response.status_code == 404
    assert b"officer's rows" not in response.content
    page = client.get(page_url)
    assert page.status_code == 404
    assert_no_link(page, officers)
    assert "请重新导出" in page.content.decode()  # "Make the export again."
    # Nor does the Tianshui officer who was never its asker.
    client.force_login(outsider)
    assert client.get(page_url).status_code == 404
    assert client.get(download_url).status_code == 404


def test_a_file_past_its_expiry_is_neither_served_nor_offered(client, officer, outsider, jobs):
    officers = jobs["officer"]
    ExportJob.objects.filter(pk=officers.pk).update(expires_at=timezone.now())
    client.force_login(officer)

    assert client.get(reverse("exports:download", args=[officers.pk])).status_code == 404
    page = client.get(reverse("exports:job", args=[officers.pk]))
    assert page.status_code == 200
    assert_no_link(page, officers)
    assert ExportJob.objects.get(pk=officers.pk).status == ExportStatus.DONE  # no beat ran
    client.force_login(outsider)
    assert client.get(reverse("exports:job", args=[officers.pk])).status_code == 404


def test_the_download_keeps_its_name_while_the_file_is_stored_under_a_safe_one(
    client, officer, settings
):
    from pathlib import Path
    from urllib.parse import quote

    job = job_of(officer, title="库存卡片-SZ/01-../FH001", content=b"card")
    client.force_login(officer)

    stored = Path(job.file.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve() / "exports")
    assert "/" not in job.file.name.split("/", 3)[3] and ".." not in job.file.name
    response = client.get(reverse("exports:download", args=[job.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"card"
    assert (
        f"filename*=utf-8''{quote('库存卡片-SZ/01-../FH001.xlsx', safe='')}"
        in (response["Content-Disposition"])
    )
