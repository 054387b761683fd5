"""Papers filed with a dispatch batch: the office attaches, readers of the batch download."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from allocation.models import BatchAttachment
from allocation.services import AllocationInvalid, batch_attach
from tests.allocation.conftest import make_batch


@pytest.fixture
def batch(frozen_time, stocked, sz01, office, n95, to_lanzhou):
    return make_batch(office, sz01, to_lanzhou, [(n95, 10)])


def pdf(name="approval.pdf", size=100):
    return SimpleUploadedFile(name, b"%PDF-1.4 " + b"x" * size, content_type="application/pdf")


def test_it_files_a_pdf_with_the_batch(batch, office):
    attachment = batch_attach(user=office, batch=batch, file=pdf(), description="审批件")
    assert attachment.original_name == "approval.pdf"
    assert attachment.uploaded_by == office
    assert batch.attachments.count() == 1


def test_it_refuses_other_file_kinds_and_oversize_files(batch, office, settings):
    with pytest.raises(AllocationInvalid):
        batch_attach(user=office, batch=batch, file=pdf("run.exe"))
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "ATTACHMENT_MAX_BYTES": 50}
    with pytest.raises(AllocationInvalid):
        batch_attach(user=office, batch=batch, file=pdf(size=100))
    assert not BatchAttachment.objects.exists()


def test_it_refuses_roles_other_than_the_office(batch, leader):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        batch_attach(user=leader, batch=batch, file=pdf())


def test_it_uploads_from_the_page_and_serves_only_to_readers_of_the_batch(
    client, batch, office, leader, outsider
):
    client.force_login(office)
    url = reverse("allocation:batch_attachment_upload", args=[batch.number])
    assert client.post(url, {"file": pdf(), "description": "审批件"}).status_code == 302
    attachment = BatchAttachment.objects.get()
    download = reverse("allocation:batch_attachment_download", args=[batch.number, attachment.pk])
    assert (
        b"approval.pdf"
        in client.get(reverse("allocation:batch_detail", args=[batch.number])).content
    )
    client.force_login(leader)
    response = client.get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert client.post(url, {"file": pdf()}).status_code == 403
    client.force_login(outsider)
    assert client.get(download).status_code == 404
