"""The credentials env file that bootstrap and createworkspace write: `source` it and the
README's examples work as written (`$API_KEY`, `$BOT_ID`, …).

One `export NAME=value` line per credential, NAME the JSON key in capitals, values quoted for
the shell. The file is created with mode 0600 (never readable by others, not even for an
instant) and replaced atomically, so a reader never sees half a file.
"""

import os
import shlex
import tempfile
from pathlib import Path

from django.conf import settings

DEMO_FILE = "credentials.env"


def demo_path() -> Path:
    return Path(settings.VAR_DIR) / DEMO_FILE


def workspace_path(slug: str) -> Path:
    return Path(settings.VAR_DIR) / f"credentials-{slug}.env"


def shown(path: Path) -> str:
    """The path as a person types it: relative to the current directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def env_lines(credentials: dict) -> list[str]:
    return [f"export {key.upper()}={shlex.quote(str(value))}" for key, value in credentials.items() if value]


def write(path: Path, credentials: dict, *, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join([f"# {title}", f"# Load them into your shell: source {shown(path)}", *env_lines(credentials), ""])
    # mkstemp creates the file 0600; os.replace swaps it in whole.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read(path: Path) -> dict[str, str]:
    """The credentials of a file written by `write` (lower-case keys), {} if there is none."""
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line[len("export ") :].partition("=")
            parts = shlex.split(value)
            found[name.lower()] = parts[0] if parts else ""
    return found
