"""Idempotency-Key on POST: replay, 422 on reuse, 409 in flight, once under concurrency."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey
from leadhub.api import idempotency
from leadhub.api.models import IdempotencyKey
from leadhub.api.tasks import idempotency_keys_purge
from tests.scope_probe import record_scopes

pytestmark = pytest.mark.urls("tests.leadhub.urls")
URL = "/api/v1/test/scoped"


def credential_of_a(workspace):
    """The rate_key of api_a's key (the only key of the workspace before the test posts)."""
    return f"api_key:{ApiKey.objects.get(workspace=workspace).pk}"


def created_keys(workspace):
    return ApiKey.objects.filter(workspace=workspace, scopes=["stats:read"]).count()


@pytest.mark.django_db
def test_a_repeat_replays_the_first_response_without_running_again(api_a, workspace_a):
    first = api_a.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api_a.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert created_keys(workspace_a) == 1


@pytest.mark.django_db
def test_without_a_key_each_post_runs(api_a, workspace_a):
    api_a.post(URL, {"name": "one"}, format="json")
    api_a.post(URL, {"name": "one"}, format="json")
    assert created_keys(workspace_a) == 2


@pytest.mark.django_db
def test_the_same_key_with_another_request_is_422(api_a, workspace_a):
    api_a.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = api_a.post(URL, {"name": "two"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert created_keys(workspace_a) == 1


@pytest.mark.django_db
def test_a_repeat_while_the_first_runs_is_409(api_a, workspace_a):
    body = {"name": "slow"}
    request = APIClient().post(URL, body, format="json").wsgi_request  # only to fingerprint
    IdempotencyKey.objects.create(
        workspace=workspace_a,
        credential=credential_of_a(workspace_a),
        key="k-3",
        fingerprint=idempotency.fingerprint(request),
    )
    response = api_a.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert created_keys(workspace_a) == 0


@pytest.mark.django_db
def test_keys_are_per_workspace(api_a, api_b, workspace_a, workspace_b):
    api_a.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = api_b.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert created_keys(workspace_a) == created_keys(workspace_b) == 1


@pytest.mark.django_db
def test_validation_errors_are_replayed_too(api_a):
    first = api_a.post(URL, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    again = api_a.post(URL, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_a_server_error_releases_the_key_for_a_retry(api_a, workspace_a):
    api_a.raise_request_exception = False
    failed = api_a.post(URL, {"name": "x", "explode": True}, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    assert failed.status_code == 500
    assert not IdempotencyKey.objects.filter(key="k-5").exists()
    retried = api_a.post(URL, {"name": "x", "explode": True}, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    assert retried.status_code == 500
    assert "Idempotent-Replayed" not in retried


@pytest.mark.django_db
def test_after_24_hours_the_key_is_new_again(api_a, workspace_a):
    api_a.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
    IdempotencyKey.objects.filter(key="k-6").update(created_at=timezone.now() - timedelta(hours=25))
    response = api_a.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert created_keys(workspace_a) == 2


@pytest.mark.django_db
def test_a_claim_abandoned_by_a_dead_process_is_taken_over(api_a, workspace_a):
    body = {"name": "one"}
    request = APIClient().post(URL, body, format="json").wsgi_request
    IdempotencyKey.objects.create(
        workspace=workspace_a,
        credential=credential_of_a(workspace_a),
        key="k-7",
        fingerprint=idempotency.fingerprint(request),
        created_at=timezone.now() - timedelta(minutes=5),
    )
    assert api_a.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-7").status_code == 201


@pytest.mark.django_db
def test_an_overlong_key_is_a_validation_error_on_the_header(api_a):
    response = api_a.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["details"]


@pytest.mark.django_db
def test_oauth_requests_are_idempotent_too(client, oauth_app_a, workspace_a):
    from tests.leadhub.test_oauth import get_token

    token = get_token(client, oauth_app_a.application.client_id, oauth_app_a.client_secret).json()["access_token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    first = api.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-8")
    again = api.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-8")
    assert first.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert created_keys(workspace_a) == 1


@pytest.mark.django_db(transaction=True)  # Celery's task_prerun closes old connections
def test_the_purge_task_deletes_only_expired_keys_each_workspace_in_its_own_scope(
    workspace_a, workspace_b, monkeypatch
):
    expired = timezone.now() - timedelta(hours=25)
    old = [IdempotencyKey.objects.create(workspace=w, key="old", fingerprint="f") for w in (workspace_a, workspace_b)]
    IdempotencyKey.objects.filter(pk__in=[k.pk for k in old]).update(created_at=expired)
    fresh = IdempotencyKey.objects.create(workspace=workspace_a, key="fresh", fingerprint="f")
    purged = record_scopes(monkeypatch, idempotency, "purge_expired", key=lambda **kw: str(kw["workspace_id"]))

    assert idempotency_keys_purge.apply().get() == 2  # Celery's own path, with its signals

    a, b = str(workspace_a.pk), str(workspace_b.pk)
    assert sorted(purged) == sorted([(a, (a, "")), (b, (b, ""))])
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_execute_once(workspace_a, make_key):
    secret = make_key(workspace_a)
    responses, barrier = [], threading.Barrier(6)

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        barrier.wait()
        try:
            responses.append(
                client.post(URL, {"name": "race", "delay": 0.5}, format="json", HTTP_IDEMPOTENCY_KEY="race")
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {201, 409}
    assert created_keys(workspace_a) == 1
    replay = APIClient()
    replay.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    again = replay.post(URL, {"name": "race", "delay": 0.5}, format="json", HTTP_IDEMPOTENCY_KEY="race")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_a_stored_answer_is_replayed_only_to_the_credential_that_made_it(workspace_a, make_key, client_for):
    first_key, second_key = client_for(make_key(workspace_a)), client_for(make_key(workspace_a))
    first = first_key.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = second_key.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert other.json()["secret"] != first.json()["secret"]
    assert created_keys(workspace_a) == 2
    again = first_key.post(URL, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


@pytest.mark.django_db
def test_a_stored_answer_is_not_kept_in_plain_text(api_a, workspace_a):
    # A name no base64 ciphertext can contain by chance (it has characters outside the alphabet).
    name = "plain text, stored?"
    first = api_a.post(URL, {"name": name}, format="json", HTTP_IDEMPOTENCY_KEY="k-secret")
    secret = first.json()["secret"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM api_idempotencykey")
        (stored,) = cursor.fetchone()
    assert secret not in stored and name not in stored
    again = api_a.post(URL, {"name": name}, format="json", HTTP_IDEMPOTENCY_KEY="k-secret")
    assert again.json()["secret"] == secret
