"""The production deployment (Dockerfile, docker-compose.yml) agrees with itself and with README.md.

No Docker engine is needed: the files are read and compared. README's "Production:
docker-compose" table names every compose service and its command, and its configuration
table documents every environment variable that settings read or compose passes.
"""

import base64
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.urls import resolve

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SETTINGS = ROOT / "leadhub" / "settings.py"

APP_SERVICES = {"migrate", "web", "admin", "worker", "beat"}
WSGI_APPLICATION = "leadhub.wsgi:application"
SERVICE_TABLE_HEADER = "| service | image or build | command |"
IMAGE_DEFAULT = "(image default)"

# Names settings read: env_str("X"), env_bool("X"), env_int("X"), env_list("X"),
# os.environ.get("X"), os.getenv("X"), os.environ["X"].
SETTINGS_ENV_READ = re.compile(
    r"""(?:\benv_[a-z_]+|os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]"""
)


def readme_section(title: str) -> str:
    text = README.read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def table_cells(line: str) -> list[str]:
    """The cells of a markdown table row, split on unescaped pipes, stripped."""
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


def table_rows(section: str, header: str) -> list[list[str]]:
    """The body rows of the table whose header line is exactly `header`."""
    lines = section.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == header]
    assert starts, f"README.md has no table with header {header!r}"
    rows = []
    for line in lines[starts[0] + 2 :]:  # past the header and the --- separator
        if not line.strip().startswith("|"):
            break
        rows.append(table_cells(line))
    return rows


def unquote(cell: str) -> str:
    return cell.replace("`", "").strip()


def readme_services() -> dict[str, tuple[str, str]]:
    """service -> (image or build cell, command cell), backticks removed."""
    rows = table_rows(readme_section("Production: docker-compose"), SERVICE_TABLE_HEADER)
    return {unquote(service): (unquote(image), unquote(command)) for service, image, command in rows}


def readme_configuration_variables() -> set[str]:
    names = set()
    for line in readme_section("Configuration").splitlines():
        if line.strip().startswith("|"):
            first = table_cells(line)[0]
            match = re.fullmatch(r"`([A-Z][A-Z0-9_]*)`", first)
            if match:
                names.add(match.group(1))
    return names


def compose_services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def compose_command(service: dict) -> str:
    command = service.get("command")
    if command is None:
        return IMAGE_DEFAULT
    return " ".join(command) if isinstance(command, list) else command


def compose_environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return environment


def build_context(service: dict) -> str | None:
    build = service.get("build")
    if isinstance(build, dict):
        build = build.get("context")
    return None if build is None else build.rstrip("/") or "/"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def dockerfile_cmd() -> list[str]:
    commands = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "CMD"]
    assert commands, "the Dockerfile has no CMD"
    cmd = commands[-1]  # the last CMD wins
    return json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)


def test_compose_services_match_readme():
    assert set(compose_services()) == set(readme_services())


def test_compose_commands_match_readme():
    documented = readme_services()
    for name, service in compose_services().items():
        assert compose_command(service) == documented[name][1], name


def test_app_services_build_the_app_image_from_the_repository():
    services = compose_services()
    assert set(services) >= APP_SERVICES
    for name in APP_SERVICES:
        assert build_context(services[name]) == ".", name
    # One image for all of them: the same build and the same image name.
    assert len({json.dumps(services[name].get("build"), sort_keys=True) for name in APP_SERVICES}) == 1
    assert len({services[name].get("image") for name in APP_SERVICES}) == 1


def test_readme_names_each_services_image_or_build():
    documented = readme_services()
    for name, service in compose_services().items():
        image_cell = documented[name][0]
        if "build" in service:
            assert image_cell.startswith("build "), name
        else:
            assert image_cell == service["image"], name


def test_compose_passes_only_documented_variables_to_the_app():
    documented = readme_configuration_variables()
    services = compose_services()
    passed = {variable for name in APP_SERVICES for variable in compose_environment(services[name])}
    assert passed, "compose passes no environment to the app services"
    assert passed - documented == set(), "add these to README's configuration table"


def test_readme_production_section_names_every_variable_compose_sets():
    section = readme_section("Production: docker-compose")
    services = compose_services()
    passed = {variable for name in APP_SERVICES for variable in compose_environment(services[name])}
    assert {variable for variable in passed if f"`{variable}`" not in section} == set()


def test_compose_requires_a_secret_key():
    for name in APP_SERVICES:
        secret = compose_environment(compose_services()[name]).get("SECRET_KEY", "")
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", secret), name


def test_compose_web_serves_the_wsgi_application_with_gunicorn():
    args = shlex.split(compose_command(compose_services()["web"]))
    assert args[0] == "gunicorn"
    assert WSGI_APPLICATION in args
    assert "0.0.0.0:8000" in args


def test_compose_web_health_check_probes_the_liveness_url():
    test = compose_services()["web"]["healthcheck"]["test"]
    probe = " ".join(test) if isinstance(test, list) else test
    assert "http://127.0.0.1:8000/livez" in probe
    assert resolve("/livez").url_name == "livez"


def test_dockerfile_default_command_serves_the_wsgi_application():
    cmd = dockerfile_cmd()
    assert cmd[0] == "gunicorn"
    assert WSGI_APPLICATION in cmd


def test_image_default_command_is_compose_web_command():
    assert dockerfile_cmd() == shlex.split(compose_command(compose_services()["web"]))


def test_dockerfile_installs_runtime_requirements_only():
    installs = [
        arguments for keyword, arguments in dockerfile_instructions() if keyword == "RUN" and "pip install" in arguments
    ]
    assert any(re.search(r"-r\s+requirements\.txt\b", run) for run in installs), installs
    assert not any("requirements-dev.txt" in run for run in installs)
    assert all("--no-cache-dir" in run for run in installs)


def test_dockerfile_runs_as_a_non_root_user():
    users = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "USER"]
    assert users, "the Dockerfile has no USER"
    assert users[-1] not in {"root", "0"}


@pytest.mark.parametrize("path", [".venv", "var", ".git", ".env"])
def test_docker_build_context_leaves_out_local_state(path):
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert path in ignored


def test_every_variable_settings_read_is_documented_in_readme():
    read = {first or second for first, second in SETTINGS_ENV_READ.findall(SETTINGS.read_text())}
    assert read, "no environment variables found in settings.py: has the way they are read changed?"
    missing = read - readme_configuration_variables()
    assert missing == set(), "add these to README's configuration table"


# ${NAME}, ${NAME:-default}, ${NAME:?message}: compose's interpolation, as far as this file uses it.
COMPOSE_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")
# What an operator must give compose (it refuses to start without them), as they would make them.
REQUIRED = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
    "POSTGRES_APP_PASSWORD": secrets.token_urlsafe(24),
    "POSTGRES_OPERATOR_PASSWORD": secrets.token_urlsafe(24),
    "REDIS_PASSWORD": secrets.token_urlsafe(24),
    "PUBLIC_BASE_URL": "https://crm.example.com",
}


def compose_interpolated(value: str, given: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name, operator, argument = match.groups()
        if name in given:
            return given[name]
        assert operator in {"-", ":-"}, f"compose requires {name}: give it in REQUIRED"
        return argument

    return COMPOSE_VARIABLE.sub(replace, value)


def compose_required_variables() -> set[str]:
    return {name for name, operator, _ in COMPOSE_VARIABLE.findall(COMPOSE.read_text()) if operator in {"?", ":?"}}


def dockerfile_env() -> dict[str, str]:
    env = {}
    for keyword, arguments in dockerfile_instructions():
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arguments))
    return env


def test_compose_requires_exactly_the_secrets_readme_names():
    assert compose_required_variables() == set(REQUIRED)
    section = readme_section("Production: docker-compose")
    assert {name for name in REQUIRED if f"`{name}`" not in section} == set()


def test_compose_takes_the_database_and_redis_passwords_from_the_environment():
    services = compose_services()
    required = r"\$\{{{}:\?[^}}]*\}}"
    assert re.fullmatch(required.format("POSTGRES_PASSWORD"), services["postgres"]["environment"]["POSTGRES_PASSWORD"])
    assert re.search(required.format("REDIS_PASSWORD"), compose_command(services["redis"]))
    assert "--requirepass" in compose_command(services["redis"])
    logins = {
        "migrate": ("leadhub", "POSTGRES_PASSWORD"),
        "web": ("leadhub_app", "POSTGRES_APP_PASSWORD"),
        "admin": ("leadhub_operator", "POSTGRES_OPERATOR_PASSWORD"),
        "worker": ("leadhub_operator", "POSTGRES_OPERATOR_PASSWORD"),
        "beat": ("leadhub_operator", "POSTGRES_OPERATOR_PASSWORD"),
    }
    assert set(logins) == APP_SERVICES
    for name in APP_SERVICES:
        env = compose_environment(services[name])
        user, password = logins[name]
        assert re.fullmatch(
            rf"postgres://{user}:{required.format(password)}@postgres:5432/leadhub", env["DATABASE_URL"]
        )
        assert re.fullmatch(rf"redis://:{required.format('REDIS_PASSWORD')}@redis:6379/0", env["REDIS_URL"])


def test_compose_serves_as_the_two_roles_and_migrates_as_the_owner():
    """Row-level security (README): web connects as leadhub_app, which crosses workspaces only
    through the named lookups; worker, beat and admin as leadhub_operator, which may take the
    operator paths. migrate (connected as the owner, leadhub, the postgres service's own user)
    creates both with their passwords and grants them the tables' data; neither owns anything."""
    services = compose_services()
    assert services["postgres"]["environment"]["POSTGRES_USER"] == "leadhub"
    migrate = shlex.split(compose_command(services["migrate"]))
    assert migrate[:2] == ["sh", "-c"]
    steps = [shlex.split(step) for step in migrate[2].split("&&")]
    assert steps == [
        ["python", "manage.py", "migrate", "--noinput"],
        ["python", "manage.py", "approle", "leadhub_app", "--password-env", "POSTGRES_APP_PASSWORD"],
        ["python", "manage.py", "approle", "leadhub_operator", "--password-env", "POSTGRES_OPERATOR_PASSWORD"],
    ]
    migrate_env = compose_environment(services["migrate"])
    for password in ("POSTGRES_APP_PASSWORD", "POSTGRES_OPERATOR_PASSWORD"):
        assert migrate_env[password] == f"${{{password}:?set {password}}}"
    for name in APP_SERVICES - {"migrate"}:
        env = compose_environment(services[name])
        role = "leadhub_app" if name == "web" else "leadhub_operator"
        assert env["DATABASE_URL"].startswith(f"postgres://{role}:"), name
        assert not {"POSTGRES_APP_PASSWORD", "POSTGRES_OPERATOR_PASSWORD"} & set(env), name
        assert "POSTGRES_PASSWORD" not in env["DATABASE_URL"], name
    section = readme_section("Production: docker-compose")
    assert "`leadhub_app`" in section and "`leadhub_operator`" in section and "`approle`" in section


def test_compose_serves_the_admin_apart_as_the_operator_role_on_this_host_only():
    """Under the app role the admin would see no row: web does not serve it, the admin service
    does, as leadhub_operator, published on 127.0.0.1 only."""
    services = compose_services()
    assert compose_environment(services["web"])["ADMIN_ENABLED"] == "false"
    admin = services["admin"]
    assert compose_environment(admin)["ADMIN_ENABLED"] == "true"
    assert admin["ports"] == ["127.0.0.1:8001:8000"]
    args = shlex.split(compose_command(admin))
    assert args[0] == "gunicorn" and WSGI_APPLICATION in args


def test_admin_is_served_only_where_enabled(tmp_path):
    env = {**os.environ, "DATABASE_URL": "sqlite:///:memory:", "LEADHUB_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_ROLE", None)
    probe = (
        "import django; django.setup(); from django.urls import resolve, Resolver404\n"
        "try:\n    resolve('/admin/'); print('served')\nexcept Resolver404:\n    print('absent')"
    )
    for enabled, expected in (("false", "absent"), ("true", "served")):
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env={**env, "ADMIN_ENABLED": enabled, "DJANGO_SETTINGS_MODULE": "leadhub.settings"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.stdout.strip() == expected, result.stderr


def test_compose_publishes_web_on_this_host_only():
    assert compose_services()["web"]["ports"] == ["127.0.0.1:8000:8000"]


def test_check_deploy_is_clean_under_the_compose_environment(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), **dockerfile_env()}
    env.update(
        {
            name: compose_interpolated(str(value), REQUIRED)
            for name, value in compose_environment(compose_services()["web"]).items()
        }
    )
    # The image's directories: here, the test's own.
    env.update({"STATIC_ROOT": str(tmp_path / "static"), "LEADHUB_VAR_DIR": str(tmp_path / "var")})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
