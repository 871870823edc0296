"""SPEC §2's dependency directions and "no cycles inside an app" hold (import-linter, with the
contracts of .importlinter), and every local app is under them."""

import configparser
from pathlib import Path

from django.apps import apps
from django.conf import settings
from importlinter.cli import lint_imports

ROOT = Path(settings.BASE_DIR)


def _contract_file() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return config


def test_the_import_contracts_are_kept():
    assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True) == 0


def test_every_local_app_is_a_root_package_of_the_contracts():
    tops = {config.name.split(".")[0] for config in apps.get_app_configs()}
    local = {top for top in tops if (ROOT / top / "__init__.py").is_file()}
    roots = set(_contract_file()["importlinter"]["root_packages"].split())
    assert local == roots, "add new apps to root_packages (and to the contracts) in .importlinter"


def test_the_cycle_check_covers_every_root_package():
    config = _contract_file()
    roots = set(config["importlinter"]["root_packages"].split())
    ancestors = set(config["importlinter:contract:no-cycles-inside-apps"]["ancestors"].split())
    assert ancestors == roots


def test_api_plumbing_is_forbidden_every_app_but_accounts():
    """SPEC §2: leadhub.api uses only accounts, so its contract forbids every other root package
    (a new app, or one left out by hand, would otherwise be importable from the plumbing)."""
    config = _contract_file()
    roots = set(config["importlinter"]["root_packages"].split())
    contract = config["importlinter:contract:api-plumbing-uses-only-accounts"]
    assert set(contract["forbidden_modules"].split()) == roots - {"leadhub", "accounts"}
