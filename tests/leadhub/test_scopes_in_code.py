"""Tenancy scopes as the code uses them (leadhub/tenancy.py): operator paths are registered
literals, documented in the README and never the tests' own; scopes nest and come back. Split
from test_tenancy.py (the wall itself)."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

from leadhub import tenancy
from leadhub.tenancy import operator_scope, tenant_scope

ROOT = Path(settings.BASE_DIR)
HERE = "tests/leadhub/test_scopes_in_code.py"


def test_an_unregistered_operator_path_is_refused():
    with pytest.raises(ValueError, match="not a registered operator path"), operator_scope("anything"):
        pass


def test_scopes_nest_and_come_back():
    with operator_scope("tests"):
        with tenant_scope("0f0e6b2e-4c55-4bd3-9a53-1f4f7c0f6b3c"):
            assert tenancy.current_workspace_id() == "0f0e6b2e-4c55-4bd3-9a53-1f4f7c0f6b3c"
            with tenancy.no_scope():
                assert tenancy.wanted() == tenancy.SCOPE_NONE
        assert tenancy.wanted() == ("", "tests")


def _operator_calls() -> list[tuple[str, int, ast.expr | None]]:
    calls = []
    for path in ROOT.rglob("*.py"):
        if any(
            part in {".venv", "node_modules", "var"} or part.startswith(".") for part in path.relative_to(ROOT).parts
        ):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name in {"operator_scope", "enter_operator"}:
                    calls.append((str(path.relative_to(ROOT)), node.lineno, node.args[0] if node.args else None))
    return calls


def test_every_operator_path_in_the_code_is_a_registered_literal():
    calls = _operator_calls()
    assert len(calls) > 10
    for path, line, argument in calls:
        if path in {"leadhub/tenancy.py", HERE} and not isinstance(argument, ast.Constant):
            continue  # the definitions pass their parameter on
        if path == HERE and argument.value == "anything":
            continue  # the test that an unregistered name is refused
        assert isinstance(argument, ast.Constant), f"{path}:{line}: name the path with a literal"
        assert argument.value in tenancy.OPERATOR_PATHS, f"{path}:{line}: {argument.value!r} is not registered"


def test_every_operator_path_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in tenancy.OPERATOR_PATHS:
        assert f"`{name}`" in readme, name


def test_the_app_code_never_uses_the_tests_operator_path():
    for path, line, argument in _operator_calls():
        if isinstance(argument, ast.Constant) and argument.value == "tests":
            assert path.startswith("tests/"), f"{path}:{line}"
