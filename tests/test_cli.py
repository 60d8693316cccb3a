"""The `townhall` command for administration: users, tokens, workspaces, and its help."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from click.testing import CliRunner, Result
from django.contrib.auth import get_user_model

from conftest import REPO, ApiClient
from townhall.cli import main
from townhall.workspaces import services
from townhall.workspaces.models import AuditLog, Membership, Workspace

User = get_user_model()


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_user_create_with_a_generated_password_and_a_role(workspace: Workspace) -> None:
    result = run_cli(
        "user", "create", "bob", "--workspace", "acme", "--role", "analyst", "--email", "bob@example.com"
    )
    assert result.exit_code == 0, result.output
    match = re.fullmatch(r"created user bob with password (\S+)\n", result.stdout)
    assert match, result.stdout
    bob = User.objects.get(username="bob")
    assert bob.check_password(match.group(1)) and bob.email == "bob@example.com"
    assert not bob.is_staff
    assert services.role_of(user=bob, workspace=workspace) == "analyst"
    audit = AuditLog.objects.get(action="membership.set")
    assert (audit.source, audit.detail, audit.workspace_id) == (
        "cli",
        {"username": "bob", "role": "analyst"},
        workspace.pk,
    )


def test_user_create_with_a_given_password_prints_no_password(db: None) -> None:
    result = run_cli("user", "create", "ada", "--password", "correct-horse-battery", "--superuser")
    assert result.exit_code == 0
    assert result.stdout == "created user ada\n"
    ada = User.objects.get(username="ada")
    assert ada.is_superuser and ada.check_password("correct-horse-battery")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workspace", "nope"], "workspace 'nope' does not exist"),
        (["--workspace", "acme", "--role", "boss"], "role must be one of"),
        (["--password", "short"], "password refused"),
        (["--password", "password123"], "password refused"),
    ],
    ids=["missing-workspace", "bad-role", "short-password", "common-password"],
)
def test_user_create_failures_leave_no_user_behind(
    workspace: Workspace, args: list[str], message: str
) -> None:
    result = run_cli("user", "create", "carl", *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert not User.objects.filter(username="carl").exists()
    assert not Membership.objects.filter(user__username="carl").exists()
    retry = run_cli("user", "create", "carl", "--workspace", "acme")
    assert retry.exit_code == 0, "the name is still free"


def test_user_create_refuses_a_taken_name(db: None) -> None:
    assert run_cli("user", "create", "dora").exit_code == 0
    again = run_cli("user", "create", "dora")
    assert again.exit_code == 1 and "user 'dora' already exists" in again.stderr


def test_token_create_prints_a_token_that_works_against_the_api(workspace: Workspace) -> None:
    run_cli("user", "create", "erin", "--workspace", "acme", "--role", "agent")
    result = run_cli("token", "create", "--user", "erin", "--name", "laptop")
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("th_") and len(token) > 30
    response = ApiClient(token).get("/workspaces")
    assert response.status_code == 200
    assert [(w["slug"], w["role"]) for w in response.json()] == [("acme", "agent")]
    assert ApiClient(token + "x").get("/workspaces").status_code == 401
    second = run_cli("token", "create", "--user", "erin").stdout.strip()
    assert second != token and ApiClient(second).get("/workspaces").status_code == 200


def test_token_create_for_a_missing_user_fails(db: None) -> None:
    result = run_cli("token", "create", "--user", "ghost")
    assert result.exit_code == 1
    assert "user 'ghost' does not exist" in result.stderr
    assert result.stdout == ""


def test_workspace_create_and_list(db: None) -> None:
    assert run_cli("workspace", "list").stdout == ""
    created = run_cli("workspace", "create", "globex", "--name", "Globex Corp", "--timezone", "Europe/Paris")
    assert created.exit_code == 0 and created.stdout == "created workspace globex\n"
    run_cli("workspace", "create", "acme")
    assert run_cli("workspace", "list").stdout == "acme\tacme\nglobex\tGlobex Corp\n"
    globex = Workspace.objects.get(slug="globex")
    assert globex.timezone == "Europe/Paris"
    assert AuditLog.objects.filter(action="workspace.create", workspace=globex, source="cli").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["acme"], "workspace 'acme' already exists"),
        (["Big Corp"], "must be lowercase letters, digits and hyphens"),
        (["globex", "--timezone", "Mars/Olympus"], "not a time zone"),
    ],
)
def test_workspace_create_failures(workspace: Workspace, args: list[str], message: str) -> None:
    result = run_cli("workspace", "create", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert list(Workspace.objects.values_list("slug", flat=True)) == ["acme"]


def test_python_m_townhall_help_lists_the_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "townhall", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: python -m townhall")
    for command in ("demo", "import", "manage", "migrate", "serve", "token", "user", "worker", "workspace"):
        assert re.search(rf"^  {command}\s", done.stdout, re.MULTILINE), command
    version = subprocess.run([sys.executable, "-m", "townhall", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "0.1.0" in version.stdout


def test_subcommand_help_and_usage_errors() -> None:
    runner = CliRunner()
    assert "twcs" in runner.invoke(main, ["import", "--help"]).output
    assert "jsonl" in runner.invoke(main, ["import", "--help"]).output
    missing = runner.invoke(main, ["import", "twcs", "file.csv"])
    assert missing.exit_code == 2 and "--workspace" in missing.output
    unknown = runner.invoke(main, ["frobnicate"])
    assert unknown.exit_code == 2 and "No such command" in unknown.output
