"""Reading settings from the environment: each helper checks its value and names the variable
in the error (ImproperlyConfigured) when it is wrong. Used by leadhub/settings.py only."""

import contextlib
import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_networks(name: str, default: str = "") -> list[str]:
    """Comma-separated CIDRs (`127.0.0.0/8,::1/128`), each checked; kept as strings."""
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be comma-separated CIDR networks, not {item!r}") from None
    return networks


def url_checked(name: str, value: str, schemes: set[str]) -> str:
    scheme = urlparse(value).scheme
    if scheme not in schemes:
        raise ImproperlyConfigured(f"{name} must be a URL starting with one of {sorted(schemes)}, not {value!r}")
    return value


def env_base_url(name: str) -> str:
    """An http(s) base URL without its trailing slash, or "" when unset."""
    value = env_str(name)
    if not value:
        return ""
    parsed = urlparse(url_checked(name, value, {"http", "https"}))
    if not parsed.netloc or parsed.query or parsed.fragment:
        raise ImproperlyConfigured(f"{name} must be a base URL like https://host[:port][/path], not {value!r}")
    return value.rstrip("/")


def var_secret(var_dir: Path, filename: str, make) -> str:
    """A secret generated once into var/ for the embedded default, readable by its owner only
    from the moment it exists (created 0600, never chmod-ed after the write). It is written to a
    file of its own and then linked into place, so that a process starting at the same time
    (`make run` starts several) finds either no file or the whole secret, never a partial one."""
    path = var_dir / filename
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        draft = var_dir / f".{filename}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as file:
                file.write(make())
            with contextlib.suppress(FileExistsError):  # unlike a rename, a link fails when another process won
                os.link(draft, path)
        finally:
            draft.unlink(missing_ok=True)
    value = path.read_text().strip()
    if not value:
        raise ImproperlyConfigured(f"{path} is empty: delete it and a new secret is generated at the next start.")
    return value
