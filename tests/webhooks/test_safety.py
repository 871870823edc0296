"""SSRF guard (SPEC §6): https only; non-public addresses refused when an endpoint is saved and
again when each delivery connects; the connection goes to the vetted address with the URL's
host name in Host and in TLS."""

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction

from leadhub.env import env_networks
from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.services import endpoint_create, event_emit
from webhooks.tasks import deliveries_dispatch
from webhooks.transport import http
from webhooks.transport.signing import secret_generate

pytestmark = pytest.mark.django_db

BLOCKED = [
    "https://10.0.0.1/hook",
    "https://10.255.255.254/hook",
    "https://172.16.0.1/hook",
    "https://172.31.255.1/hook",
    "https://192.168.1.10/hook",
    "https://127.0.0.1/hook",
    "https://127.8.9.10/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[fc00::1]/hook",
    "https://[fd12:3456::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://100.64.0.1/hook",
    "https://localhost/hook",  # a host name that resolves to 127.0.0.1 (and ::1)
    "https://2130706433/hook",  # 127.0.0.1 written as one number
    "https://0x7f.1/hook",
]


@pytest.mark.parametrize("url", BLOCKED)
def test_non_public_addresses_are_refused_at_save(workspace_a, url):
    with pytest.raises(ValidationError) as error:
        endpoint_create(workspace=workspace_a, url=url)
    assert "not a public address" in error.value.message_dict["url"][0]
    assert not Endpoint.objects.exists()


def test_http_is_refused_unless_allowed(workspace_a, settings):
    with pytest.raises(ValidationError) as error:
        endpoint_create(workspace=workspace_a, url="http://8.8.8.8/hook")
    assert error.value.message_dict["url"] == [
        "The URL must start with https:// (http:// is allowed only with WEBHOOK_ALLOW_HTTP=true, for development)."
    ]
    settings.WEBHOOK_ALLOW_HTTP = True
    assert endpoint_create(workspace=workspace_a, url="http://8.8.8.8/hook").endpoint.url == "http://8.8.8.8/hook"


def test_a_public_address_is_accepted(workspace_a):
    assert endpoint_create(workspace=workspace_a, url="https://8.8.8.8/hook").endpoint.pk


def test_allowed_networks_exempt_only_themselves(workspace_a, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    endpoint_create(workspace=workspace_a, url="https://127.0.0.1/hook")
    for url in ("https://10.0.0.1/hook", "https://[::1]/hook", "https://169.254.169.254/"):
        with pytest.raises(ValidationError):
            endpoint_create(workspace=workspace_a, url=url)


def test_urls_with_credentials_are_refused(workspace_a):
    with pytest.raises(ValidationError):
        endpoint_create(workspace=workspace_a, url="https://user:pw@8.8.8.8/hook")


@pytest.mark.parametrize("url", BLOCKED)
def test_non_public_addresses_are_refused_at_connect(workspace_a, url, django_capture_on_commit_callbacks):
    # Saved before the address turned private (a DNS change, or rebinding): the delivery is
    # vetted again when it connects.
    Endpoint.objects.create(workspace=workspace_a, url=url, secret=secret_generate())
    with transaction.atomic():
        event = event_emit(workspace=workspace_a, type="lead.created", data={"id": "1"})
    (delivery,) = event.deliveries.all()

    deliveries_dispatch([str(delivery.id)])

    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert attempt.error.startswith("Refused: ")
    assert "not a public address" in attempt.error
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING  # retried later, never sent there


def test_a_host_that_turns_private_after_save_gets_nothing(workspace_a, receiver, settings):
    port = receiver.server.server_address[1]
    endpoint_create(workspace=workspace_a, url=f"http://localhost:{port}/hook")
    settings.WEBHOOK_ALLOWED_NETWORKS = []  # the same name now vets as loopback only
    with transaction.atomic():
        event = event_emit(workspace=workspace_a, type="lead.created", data={"id": "1"})

    deliveries_dispatch([str(d.id) for d in event.deliveries.all()])

    assert receiver.received == []
    assert Attempt.objects.get().error.startswith("Refused: The host localhost resolves to")


def test_bad_allowed_networks_fail_at_start_up_naming_the_variable(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8,not-a-network")
    with pytest.raises(ImproperlyConfigured, match="WEBHOOK_ALLOWED_NETWORKS"):
        env_networks("WEBHOOK_ALLOWED_NETWORKS")
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8, ::1/128")
    assert env_networks("WEBHOOK_ALLOWED_NETWORKS") == ["127.0.0.0/8", "::1/128"]


# --- TLS: the vetted address, the URL's name ---------------------------------------------------


def _certificate(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_receiver(tmp_path, local_webhooks, monkeypatch):
    """An HTTPS server on 127.0.0.1 whose certificate names `localhost`; records SNI and Host."""
    cert, key = _certificate(tmp_path, "localhost")
    seen = {"sni": [], "host": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen["host"].append(self.headers["Host"])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(http, "CA_CERTS", cert)
    yield server.server_address[1], seen, tmp_path
    server.shutdown()
    server.server_close()


def test_https_connects_to_the_vetted_address_with_the_urls_name(workspace_a, tls_receiver):
    port, seen, _ = tls_receiver
    endpoint_create(workspace=workspace_a, url=f"https://localhost:{port}/hook")
    with transaction.atomic():
        event = event_emit(workspace=workspace_a, type="lead.created", data={"id": "1"})
    deliveries_dispatch([str(d.id) for d in event.deliveries.all()])

    attempt = Attempt.objects.get()
    assert (attempt.status_code, attempt.error) == (204, "")
    assert seen["sni"] == ["localhost"]
    assert seen["host"] == [f"localhost:{port}"]


def test_https_refuses_a_certificate_for_another_name(workspace_a, tls_receiver, monkeypatch):
    port, seen, tmp_path = tls_receiver
    other, _ = _certificate(tmp_path, "other.example")
    monkeypatch.setattr(http, "CA_CERTS", other)
    endpoint_create(workspace=workspace_a, url=f"https://localhost:{port}/hook")
    with transaction.atomic():
        event = event_emit(workspace=workspace_a, type="lead.created", data={"id": "1"})
    deliveries_dispatch([str(d.id) for d in event.deliveries.all()])

    attempt = Attempt.objects.get()
    assert attempt.status_code is None
    assert "SSL" in attempt.error or "certificate" in attempt.error
    assert seen["host"] == []


def test_the_retry_scale_is_checked_at_start_up(monkeypatch):
    from leadhub.settings import _webhook_retry_scale

    monkeypatch.setenv("WEBHOOK_RETRY_SCALE", "0.01")
    assert _webhook_retry_scale(debug=True, allowed_networks=[]) == 0.01
    assert _webhook_retry_scale(debug=False, allowed_networks=["127.0.0.0/8"]) == 0.01
    for bad in ("0", "2", "fast"):
        monkeypatch.setenv("WEBHOOK_RETRY_SCALE", bad)
        with pytest.raises(ImproperlyConfigured, match="WEBHOOK_RETRY_SCALE"):
            _webhook_retry_scale(debug=True, allowed_networks=[])


def test_a_shortened_retry_schedule_is_refused_in_production(monkeypatch):
    # Production (docker-compose.yml) runs with DEBUG off and no WEBHOOK_ALLOWED_NETWORKS.
    from leadhub.settings import _webhook_retry_scale

    monkeypatch.setenv("WEBHOOK_RETRY_SCALE", "0.01")
    with pytest.raises(ImproperlyConfigured, match=r"WEBHOOK_RETRY_SCALE .*development only"):
        _webhook_retry_scale(debug=False, allowed_networks=[])
    monkeypatch.setenv("WEBHOOK_RETRY_SCALE", "1")
    assert _webhook_retry_scale(debug=False, allowed_networks=[]) == 1.0


@pytest.fixture
def dns_that_hangs(monkeypatch):
    """The system resolver, for a name that never answers (a DNS server that hangs): getaddrinfo
    blocks until the test ends. Names other than slow.example resolve as usual."""
    import socket

    release = threading.Event()
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "slow.example":
            release.wait(30)
            raise socket.gaierror("released")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    release.set()


def test_a_host_that_does_not_resolve_in_time_is_refused_at_save(workspace_a, dns_that_hangs, monkeypatch):
    import functools

    from webhooks.transport import ssrf

    # Unbounded, the lookup would end after the fixture's 30 s with another error than this one.
    monkeypatch.setattr(ssrf, "resolve", functools.partial(ssrf.resolve, timeout=0.3))
    with pytest.raises(ValidationError) as error:
        endpoint_create(workspace=workspace_a, url="https://slow.example/hook")
    assert error.value.message_dict["url"] == ["The host slow.example did not resolve within 0.3 s."]
    assert not Endpoint.objects.exists()


def test_a_host_that_does_not_resolve_in_time_fails_the_attempt_at_connect(dns_that_hangs, monkeypatch):
    import asyncio

    monkeypatch.setattr(http, "DNS_TIMEOUT_SECONDS", 0.3)
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(http.Refused) as error:
            loop.run_until_complete(http._VettingResolver().resolve("slow.example", 443))
    finally:
        loop.close()  # the stuck lookup's thread is released by the fixture
    assert str(error.value) == "The host slow.example did not resolve within 0.3 s."


@pytest.mark.parametrize(
    ("url", "allow_http", "allowed"),
    [
        ("https://8.8.8.8/hook", False, True),
        ("https://8.8.8.8:443/hook", False, True),
        ("https://8.8.8.8:8443/hook", False, False),
        ("https://8.8.8.8:22/hook", False, False),
        ("http://8.8.8.8/hook", True, True),
        ("http://8.8.8.8:8080/hook", True, False),
        ("https://8.8.8.8:80/hook", False, False),
        ("https://8.8.8.8:80/hook", True, True),
    ],
)
def test_endpoint_ports_are_443_or_80_with_http_allowed(workspace_a, settings, url, allow_http, allowed):
    settings.WEBHOOK_ALLOW_HTTP = allow_http
    if allowed:
        assert endpoint_create(workspace=workspace_a, url=url).endpoint.pk
        return
    with pytest.raises(ValidationError) as error:
        endpoint_create(workspace=workspace_a, url=url)
    assert error.value.message_dict["url"][0].startswith("The port must be")
    assert not Endpoint.objects.exists()


def test_any_port_inside_the_allowed_networks(workspace_a, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert endpoint_create(workspace=workspace_a, url="https://127.0.0.1:9999/hook").endpoint.pk
    with pytest.raises(ValidationError):
        endpoint_create(workspace=workspace_a, url="https://8.8.8.8:9999/hook")
