"""CSV import (upload, mapping, the task through contact_upsert, progress, the rejected rows'
report) and the streamed export of the filtered list."""

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.contacts.fields import CSV_FIELDS, REPRESENTATION
from crm.contacts.services import contact_delete
from crm.models import Contact, TimelineEntry
from dashboard.imports import BATCH_ROWS, contact_import_create
from dashboard.models import ContactImport
from dashboard.tasks import contact_import_run
from leadhub.tenancy import no_scope
from tests.crm.support import contact_make
from tests.scope_probe import run_as_worker
from webhooks.models import Event

pytestmark = pytest.mark.django_db

CSV = (
    "Full Name,Mobile,E-mail Address,Company,Birthday,Favourite colour\n"
    "Ada Lovelace,(818) 740 5020,ada@example.com,Engines,12/10/1975,green\n"
    "Grace Hopper,,grace@example.com,Navy,,blue\n"
    "No Contact,,,Nowhere,,red\n"
    "Bad Phone,12,,,,\n"
    "Bad Date,+1 818 740 5021,,,31/31/2000,\n"
)


def url(workspace, rest=""):
    return f"/w/{workspace.pk}/leads/import/{rest}"


def upload(client, workspace, text, name="leads.csv"):
    return client.post(url(workspace), {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")})


def test_upload_guesses_the_mapping_and_shows_sample_values(owner_client, workspace_a):
    response = upload(owner_client, workspace_a, CSV)
    imp = ContactImport.objects.get(workspace=workspace_a)
    assert response.status_code == 302
    assert response["Location"] == url(workspace_a, f"{imp.pk}/")
    assert imp.total_rows == 5 and imp.status == "mapping"
    assert imp.mapping == {"0": "name", "1": "phone_number", "2": "email", "3": "company_name", "4": "date_of_birth"}
    page = owner_client.get(response["Location"]).content.decode()
    assert "5 rows" in page and "(818) 740 5020" in page


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "The submitted file is empty"), (" , \n1,2\n", "The file is empty"), ("name,phone\n", "no rows")],
)
def test_a_file_that_cannot_be_imported_says_why(owner_client, workspace_a, text, message):
    response = upload(owner_client, workspace_a, text)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_mapping_without_phone_or_email_is_refused(owner_client, workspace_a):
    upload(owner_client, workspace_a, CSV)
    imp = ContactImport.objects.get()
    response = owner_client.post(url(workspace_a, f"{imp.pk}/"), {"column_0": "name"})
    assert response.status_code == 400
    assert b"Map a column to Phone or to E-mail" in response.content
    imp.refresh_from_db()
    assert imp.status == "mapping"


def test_the_run_creates_leads_through_contact_upsert_and_reports_rejects(owner_client, workspace_a):
    contact_make(workspace_a, phone="+18187405020", name="Ada (already here)")
    upload(owner_client, workspace_a, CSV)
    imp = ContactImport.objects.get()
    form = {"column_0": "name", "column_1": "phone_number", "column_2": "email", "column_4": "date_of_birth"}
    response = owner_client.post(url(workspace_a, f"{imp.pk}/"), form)
    assert response.status_code == 302
    imp.refresh_from_db()
    assert imp.status == "queued"

    run_as_worker(contact_import_run, import_id=imp.pk)  # what the Celery task runs

    imp.refresh_from_db()
    assert (imp.status, imp.processed_rows, imp.percent) == ("completed", 5, 100)
    assert (imp.created_count, imp.unchanged_count, imp.rejected_count) == (1, 1, 3)
    grace = Contact.objects.get(workspace=workspace_a, email="grace@example.com")
    assert (grace.name, grace.source) == ("Grace Hopper", "csv_import")
    # Ada existed: not overwritten without "update existing", but the submission is on her timeline.
    ada = Contact.objects.get(workspace=workspace_a, phone_number="+18187405020")
    assert ada.name == "Ada (already here)"
    assert TimelineEntry.objects.filter(contact=ada, kind="intake", data__source="csv_import").exists()
    assert Event.objects.filter(workspace=workspace_a, type="lead.created", data__email="grace@example.com").exists()

    report = b"".join(owner_client.get(url(workspace_a, f"{imp.pk}/rejected.csv")).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[0][:3] == ["row", "reason", "Full Name"]
    reasons = {row[2]: row[1] for row in rows[1:]}
    assert reasons["No Contact"] == "Needs a phone number or an e-mail address."
    assert reasons["Bad Phone"].startswith("Phone:")
    assert reasons["Bad Date"].startswith("Date of birth:")


def test_update_existing_overwrites_with_the_files_values(owner_client, workspace_a):
    contact_make(workspace_a, phone="+18187405020", name="Ada (already here)")
    upload(owner_client, workspace_a, CSV)
    imp = ContactImport.objects.get()
    owner_client.post(
        url(workspace_a, f"{imp.pk}/"), {"column_0": "name", "column_1": "phone_number", "update_existing": "on"}
    )
    run_as_worker(contact_import_run, import_id=imp.pk)
    assert Contact.objects.get(phone_number="+18187405020").name == "Ada Lovelace"


def test_progress_is_polled_until_done_then_polling_stops(owner_client, workspace_a):
    upload(owner_client, workspace_a, CSV)
    imp = ContactImport.objects.get()
    owner_client.post(url(workspace_a, f"{imp.pk}/"), {"column_1": "phone_number"})
    polled = owner_client.get(url(workspace_a, f"{imp.pk}/progress"), HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and b'hx-trigger="every 1s"' in polled.content
    assert b'aria-valuenow="0"' in polled.content
    run_as_worker(contact_import_run, import_id=imp.pk)
    done = owner_client.get(url(workspace_a, f"{imp.pk}/progress"), HTTP_HX_REQUEST="true")
    assert done.status_code == 286  # htmx stops polling
    assert b'aria-valuenow="100"' in done.content and b"hx-trigger" not in done.content


def test_a_second_run_goes_on_after_the_last_committed_batch(owner_client, workspace_a):
    lines = ["phone"] + [f"+1818740{6000 + n}" for n in range(BATCH_ROWS + 50)]
    upload(owner_client, workspace_a, "\n".join(lines) + "\n")
    imp = ContactImport.objects.get()
    owner_client.post(url(workspace_a, f"{imp.pk}/"), {"column_0": "phone_number"})
    # As if a worker died after its first batch committed: progress says BATCH_ROWS done.
    for line in lines[1 : BATCH_ROWS + 1]:
        contact_make(workspace_a, phone=line)
    ContactImport.objects.filter(pk=imp.pk).update(
        status="running", processed_rows=BATCH_ROWS, created_count=BATCH_ROWS
    )
    run_as_worker(contact_import_run, import_id=imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.processed_rows, imp.created_count, imp.unchanged_count) == (
        "completed",
        BATCH_ROWS + 50,
        BATCH_ROWS + 50,
        0,
    )
    assert Contact.objects.filter(workspace=workspace_a).count() == BATCH_ROWS + 50


def test_an_import_of_another_workspace_is_404(owner_client, outsider, workspace_a, workspace_b):
    foreign = contact_import_create(
        workspace=workspace_b, user=outsider, filename="x.csv", raw=b"phone\n+18187405020\n"
    )
    assert owner_client.get(url(workspace_a, f"{foreign.pk}/")).status_code == 404
    assert owner_client.post(url(workspace_a, f"{foreign.pk}/"), {"column_0": "phone_number"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "mapping"


def test_export_streams_the_filtered_list(owner_client, workspace_a, workspace_b):
    contact_make(workspace_a, phone="+18187405001", name="Won Lead")
    Contact.objects.filter(name="Won Lead").update(status="won")
    contact_make(workspace_a, phone="+18187405002", name="New Lead")
    contact_make(workspace_b, phone="+18187405003", name="Foreign Lead")
    response = owner_client.get(f"/w/{workspace_a.pk}/leads/export.csv", {"status": "won"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-acme-dental-')
    with no_scope():  # the server reads the body after the request, its scope gone
        body = b"".join(response.streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [row["name"] for row in rows] == ["Won Lead"]
    assert rows[0]["phone_number"] == "+18187405001" and rows[0]["status"] == "won"


def test_export_of_every_lead(owner_client, workspace_a):
    for n in range(30):
        contact_make(workspace_a, phone=f"+1818740{5300 + n}", name=f"Lead {n}")
    response = owner_client.get(f"/w/{workspace_a.pk}/leads/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 30


def test_an_export_imports_again_with_every_field_the_import_takes(owner_client, workspace_a):
    """The export writes the API's representation (the import's fields under the names it maps);
    a lead exported, deleted and imported back has every one of them as before."""
    ada = contact_make(
        workspace_a,
        phone="+18187405020",
        email="ada@example.com",
        name="Ada Lovelace",
        first_name="Ada",
        last_name="Lovelace",
        company_name="Engines, Ltd",
        website="https://engines.example.com",
        address="12 St James's Square\nLondon",
        city="London",
        state="LDN",
        zipcode="SW1Y 4JH",
        country="GB",
        timezone="Europe/London",
        date_of_birth=datetime.date(1975, 12, 10),
        lead_source="referral",
        source="expo",
        notes='Said "call me", twice; then; nothing',
        csf1="first",
        csf2="second",
    )
    before = {name: getattr(ada, name) for name in CSV_FIELDS}
    assert all(before.values())
    exported = b"".join(owner_client.get(f"/w/{workspace_a.pk}/leads/export.csv").streaming_content).decode()
    assert next(csv.reader(io.StringIO(exported))) == [*REPRESENTATION, "owner"]
    contact_delete(contact=ada)

    upload(owner_client, workspace_a, exported, name="export.csv")
    imp = ContactImport.objects.get()
    assert sorted(imp.mapping.values()) == sorted(CSV_FIELDS)  # every field found by its name
    form = {f"column_{index}": field for index, field in imp.mapping.items()}
    assert owner_client.post(url(workspace_a, f"{imp.pk}/"), form).status_code == 302
    run_as_worker(contact_import_run, import_id=imp.pk)

    again = Contact.objects.get(workspace=workspace_a)
    assert {name: getattr(again, name) for name in CSV_FIELDS} == before
