"""CSV import of contacts: upload (the header read and the columns guessed), mapping, and the
run that a Celery task makes, row by row through crm's contact_upsert, in batches that commit
with their progress; rows that cannot be a contact are kept with the reason for a report."""

import csv
import io
import logging
import re

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import capfirst

from accounts.models import Workspace
from crm.contacts.fields import CSV_FIELDS
from crm.contacts.services import contact_upsert
from crm.models import Contact
from crm.normalize import InvalidValue, normalize_email, parse_phone, parse_us_date

from .models import ContactImport

logger = logging.getLogger(__name__)

BATCH_ROWS = 200
# The report keeps this many rejected rows (the count goes on): enough to see what is wrong.
REPORT_MAX_ROWS = 10_000
MAX_COLUMNS = 100
# What a column may be mapped to: the contact's own fields (SPEC §5), by their API names, with
# the label a person reads (the model's verbose name where it reads well).
_LABELS = {
    "phone_number": "Phone",
    "email": "E-mail",
    "company_name": "Company",
    "zipcode": "ZIP code",
    "timezone": "Time zone",
    "csf1": "Custom field 1 (csf1)",
    "csf2": "Custom field 2 (csf2)",
}
FIELDS: dict[str, str] = {
    name: _LABELS.get(name) or capfirst(Contact._meta.get_field(name).verbose_name) for name in CSV_FIELDS
}
# Header spellings seen in exports of other CRMs, for the first guess of the mapping.
ALIASES: dict[str, str] = {
    "phone": "phone_number",
    "mobile": "phone_number",
    "mobilephone": "phone_number",
    "cell": "phone_number",
    "telephone": "phone_number",
    "phonenumber": "phone_number",
    "emailaddress": "email",
    "mail": "email",
    "fullname": "name",
    "contactname": "name",
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "company": "company_name",
    "companyname": "company_name",
    "business": "company_name",
    "organization": "company_name",
    "organisation": "company_name",
    "url": "website",
    "zip": "zipcode",
    "postalcode": "zipcode",
    "postcode": "zipcode",
    "dob": "date_of_birth",
    "birthday": "date_of_birth",
    "dateofbirth": "date_of_birth",
    "leadsource": "lead_source",
}


class ImportRefused(ValueError):
    """The file cannot be imported at all; the message says why, for the person."""


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _rows(text: str):
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text), dialect)


def guess_field(header: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", header.lower())
    if not key:
        return ""
    for field in FIELDS:
        if key == field.replace("_", ""):
            return field
    return ALIASES.get(key, "")


def contact_import_create(*, workspace: Workspace, user, filename: str, raw: bytes) -> ContactImport:
    """Store an uploaded file with its header and row count, and a first guess of the mapping."""
    if len(raw) > settings.CSV_IMPORT_MAX_BYTES:
        raise ImportRefused(f"The file is larger than {settings.CSV_IMPORT_MAX_BYTES // 1_000_000} MB.")
    text = _decode(raw).replace("\x00", "")
    try:
        rows = _rows(text)
        header = next(rows, None)
        total = sum(1 for row in rows if any(cell.strip() for cell in row))
    except csv.Error as exc:
        raise ImportRefused(f"This is not a CSV file we can read ({exc}).") from None
    if not header or not any(cell.strip() for cell in header):
        raise ImportRefused("The file is empty: its first row should name the columns.")
    if len(header) > MAX_COLUMNS:
        raise ImportRefused(f"The file has {len(header)} columns; at most {MAX_COLUMNS} can be mapped.")
    if total == 0:
        raise ImportRefused("The file has a header but no rows.")
    columns = [cell.strip()[:100] for cell in header]
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, column in enumerate(columns):
        field = guess_field(column)
        if field and field not in taken:
            mapping[str(index)] = field
            taken.add(field)
    return ContactImport.objects.create(
        workspace=workspace,
        created_by=user,
        filename=filename[:255],
        content=text,
        columns=columns,
        mapping=mapping,
        total_rows=total,
    )


def contact_import_start(
    *, workspace: Workspace, contact_import: ContactImport, mapping: dict[str, str], update_existing: bool
) -> ContactImport:
    """Fix the mapping and queue the run (after commit). A mapping must name a phone or an
    e-mail column, and each field at most once."""
    if contact_import.workspace_id != workspace.pk:
        raise ValueError("The import is not of this workspace.")
    if contact_import.status != ContactImport.Status.MAPPING:
        raise ImportRefused("This import has started already.")
    mapping = {
        str(index): field
        for index, field in mapping.items()
        if field in FIELDS
        and str(index).isascii()
        and str(index).isdigit()
        and int(index) < len(contact_import.columns)
    }
    fields = list(mapping.values())
    duplicates = sorted({FIELDS[field] for field in fields if fields.count(field) > 1})
    if duplicates:
        raise ImportRefused(f"Each field can take one column: {', '.join(duplicates)} is chosen twice.")
    if "phone_number" not in fields and "email" not in fields:
        raise ImportRefused("Map a column to Phone or to E-mail: a contact is found by one of them.")
    with transaction.atomic():
        updated = ContactImport.objects.filter(
            pk=contact_import.pk, workspace=workspace, status=ContactImport.Status.MAPPING
        ).update(mapping=mapping, update_existing=update_existing, status=ContactImport.Status.QUEUED)
        if not updated:
            raise ImportRefused("This import has started already.")
        transaction.on_commit(lambda: _enqueue(contact_import.pk))
    contact_import.refresh_from_db()
    return contact_import


def _enqueue(import_id) -> None:
    # By name: tasks imports this module, so this one does not import tasks.
    current_app.tasks["dashboard.tasks.contact_import_run"].delay(str(import_id))


class RowRejected(Exception):
    pass


_MAX_LENGTHS = {field: Contact._meta.get_field(field).max_length for field in FIELDS if field != "date_of_birth"}


def _contact_from_row(workspace: Workspace, cells: dict[str, str]):
    phone = email = None
    if cells.get("phone_number"):
        try:
            phone = parse_phone(cells["phone_number"], default_region=workspace.country)
        except InvalidValue as exc:
            raise RowRejected(f"Phone: {exc}") from None
    if cells.get("email"):
        email = normalize_email(cells["email"])
        try:
            validate_email(email)
        except ValidationError:
            raise RowRejected("E-mail: this is not an e-mail address.") from None
        if len(email) > _MAX_LENGTHS["email"]:
            raise RowRejected("E-mail: too long.")
    if phone is None and email is None:
        raise RowRejected("Needs a phone number or an e-mail address.")
    values: dict = {}
    for field, value in cells.items():
        if field in ("phone_number", "email") or not value:
            continue
        if field == "date_of_birth":
            try:
                values[field] = parse_us_date(value)
            except InvalidValue as exc:
                raise RowRejected(f"Date of birth: {exc}") from None
            continue
        limit = _MAX_LENGTHS.get(field)
        if limit and len(value) > limit:
            raise RowRejected(f"{FIELDS[field]}: longer than {limit} characters.")
        values[field] = value
    return phone, email, values


def contact_import_run(*, import_id) -> ContactImport | None:
    """Import the rows not yet done, in batches: each batch's contacts and its progress commit
    together, so a second run (a redelivered task) goes on where the first stopped."""
    contact_import = ContactImport.objects.select_related("workspace").filter(pk=import_id).first()
    if contact_import is None or contact_import.is_done or contact_import.status == ContactImport.Status.MAPPING:
        return contact_import
    ContactImport.objects.filter(pk=contact_import.pk).update(status=ContactImport.Status.RUNNING)
    workspace = contact_import.workspace
    mapping = {int(index): field for index, field in contact_import.mapping.items()}
    rows = _rows(contact_import.content)
    next(rows, None)  # the header
    data_rows = ((number, row) for number, row in enumerate(rows, start=2) if any(cell.strip() for cell in row))
    consumed = 0
    try:
        while True:
            with transaction.atomic():
                current = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
                if current.is_done:
                    return current
                batch = []
                for number, row in data_rows:
                    consumed += 1
                    if consumed <= current.processed_rows:
                        continue  # done by an earlier run of this task
                    batch.append((number, row))
                    if len(batch) == BATCH_ROWS:
                        break
                _batch_run(current, workspace, mapping, batch)
                done = len(batch) < BATCH_ROWS
                if done:
                    current.status = ContactImport.Status.COMPLETED
                    current.finished_at = timezone.now()
                current.save()
            if done:
                return current
    except Exception as exc:
        logger.exception("CSV import %s failed", contact_import.pk)
        ContactImport.objects.filter(pk=contact_import.pk).update(
            status=ContactImport.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:500], finished_at=timezone.now()
        )
        raise


def _batch_run(current: ContactImport, workspace: Workspace, mapping: dict[int, str], batch) -> None:
    for number, row in batch:
        cells = {field: row[index].strip() for index, field in mapping.items() if index < len(row)}
        try:
            phone, email, values = _contact_from_row(workspace, cells)
            with transaction.atomic():  # a savepoint: one bad row never undoes its batch
                result = contact_upsert(
                    workspace=workspace,
                    phone=phone,
                    email=email,
                    values=values,
                    source="csv_import",
                    update_existing=current.update_existing,
                    initial={"source": "csv_import"},
                    submitted=sorted(field for field, value in cells.items() if value),
                )
        except RowRejected as exc:
            _reject(current, number, str(exc), row)
        except Exception as exc:  # a row the database refused: reported, the import goes on
            logger.warning("CSV import %s: row %s refused: %s", current.pk, number, exc)
            _reject(current, number, "Could not be saved.", row)
        else:
            if result.created:
                current.created_count += 1
            elif result.changed:
                current.updated_count += 1
            else:
                current.unchanged_count += 1
        current.processed_rows += 1


def _reject(current: ContactImport, number: int, reason: str, row: list[str]) -> None:
    current.rejected_count += 1
    if len(current.rejected) < REPORT_MAX_ROWS:
        current.rejected.append([number, reason, *row[:MAX_COLUMNS]])


def rejected_report(contact_import: ContactImport):
    """The rejected rows as CSV lines: row number, reason, then the row as uploaded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "reason", *contact_import.columns])
    yield buffer.getvalue()
    for line in contact_import.rejected:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(line)
        yield buffer.getvalue()
