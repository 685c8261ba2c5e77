"""scripts/test_services.sh installs what is missing: every install path, with the programs hidden.

Why: the script once defined a shell function named `chromium`, so its own
`command -v chromium` found the function and Chromium was never installed on a fresh machine;
CI passed only where somebody had installed it by hand. Here the script runs with a PATH that
holds only the basic tools it needs (symlinks to the real ones) and stubs that record every
call: `apt-get` (an install "installs" stub programs), `id` (root), `su` and `chown`. Nothing on
the machine is installed, started or changed, whatever is installed on it.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "test_services.sh"
# The real programs the script may use besides the ones it installs.
BASIC_TOOLS = ["bash", "env", "ls", "sort", "tail", "grep", "mkdir", "rm", "seq", "sleep",
               "cat", "touch", "dirname", "chmod", "cp"]

# What each stubbed Debian package provides: program name -> stub body.
PACKAGE_PROGRAMS = {
    "chromium": {"chromium": 'echo "Chromium 999 (stub)"'},
    "chromium-driver": {"chromedriver": 'echo "ChromeDriver 999 (stub)"'},
    "redis-server": {
        "redis-server": 'touch "$STUB_STATE/redis-up"',
        # redis-cli comes with redis-server (redis-tools); PONG once the server "runs".
        "redis-cli": '[ -e "$STUB_STATE/redis-up" ] && echo PONG || exit 1',
    },
    "nodejs": {"node": "echo v18.0.0"},
    "npm": {"npm": "echo 9.2.0"},
}
POSTGRES_PROGRAMS = {  # under $TEST_PG_LIB/15/bin, like Debian's postgresql-15
    "initdb": 'mkdir -p "$STUB_STATE/pgdata"',
    "pg_ctl": 'touch "$STUB_STATE/pg-up"',
    "pg_isready": '[ -e "$STUB_STATE/pg-up" ]',
    "psql": '[ -e "$STUB_STATE/db-created" ] && echo 1 || true',
    "createdb": 'touch "$STUB_STATE/db-created"',
}

APT_GET = """#!/bin/bash
echo "apt-get $*" >> "$STUB_STATE/calls"
[ "$1" = install ] || exit 0
for package in "$@"; do
  case "$package" in
    -*|install) ;;
    postgresql)
      mkdir -p "$TEST_PG_LIB/15/bin"
      for program in "$STUB_STATE"/pg-programs/*; do
        cp "$program" "$TEST_PG_LIB/15/bin/"
      done ;;
    *)
      if [ ! -d "$STUB_STATE/packages/$package" ]; then
        echo "E: Unable to locate package $package" >&2
        exit 100
      fi
      cp "$STUB_STATE/packages/$package"/* "$STUB_INSTALLED/" ;;
  esac
done
"""


def _write_program(path: Path, body: str) -> None:
    name = path.name
    path.write_text(f'#!/bin/bash\necho "{name} $*" >> "$STUB_STATE/calls"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@dataclass
class FreshMachine:
    """A PATH and environment on which none of the test programs is installed."""

    root: Path
    env: dict[str, str]

    @property
    def installed(self) -> Path:
        return self.root / "installed"

    def calls(self) -> list[str]:
        path = self.root / "state" / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def apt_calls(self) -> list[str]:
        return [call for call in self.calls() if call.startswith("apt-get ")]

    def preinstall(self, package: str) -> None:
        """Put a package's programs on the PATH, as if it were already installed."""
        for program in (self.root / "state" / "packages" / package).iterdir():
            shutil.copy(program, self.installed / program.name)

    def run(self, service: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.env["STUB_BASH"], str(SCRIPT), service], env=self.env,
                              capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def machine(tmp_path: Path) -> FreshMachine:
    tools, stubs, installed, state = (tmp_path / name for name in
                                      ("tools", "stubs", "installed", "state"))
    for folder in (tools, stubs, installed, state, state / "pg-programs"):
        folder.mkdir()
    for tool in BASIC_TOOLS:
        real = shutil.which(tool)
        assert real, f"{tool} is needed to run the set-up script"
        (tools / tool).symlink_to(real)
    for package, programs in PACKAGE_PROGRAMS.items():
        (state / "packages" / package).mkdir(parents=True)
        for name, body in programs.items():
            _write_program(state / "packages" / package / name, body)
    for name, body in POSTGRES_PROGRAMS.items():
        _write_program(state / "pg-programs" / name, body)
    (stubs / "apt-get").write_text(APT_GET)
    (stubs / "apt-get").chmod(0o755)
    _write_program(stubs / "id", 'echo "${STUB_UID:-0}"')
    _write_program(stubs / "chown", "true")
    # su postgres -s /bin/bash -c CMD: run CMD (as ourselves).
    _write_program(stubs / "su", 'bash -c "${@: -1}"')
    env = {
        "PATH": f"{stubs}:{installed}:{tools}",
        "HOME": str(tmp_path),
        "STUB_STATE": str(state),
        "STUB_INSTALLED": str(installed),
        "STUB_BASH": str(tools / "bash"),
        "TEST_PG_LIB": str(tmp_path / "usr-lib-postgresql"),
        "TEST_PG_DIR": str(tmp_path / "pg"),
        "TEST_PG_PORT": "1",
        "TEST_REDIS_DIR": str(tmp_path / "redis"),
        "TEST_REDIS_PORT": "1",
    }
    return FreshMachine(tmp_path, env)


def _installs(machine: FreshMachine, *packages: str) -> None:
    """apt-get update ran, then one install of exactly these packages."""
    assert machine.apt_calls() == [
        "apt-get update -qq", f"apt-get install -y -qq {' '.join(packages)}"
    ]


def test_the_path_hides_every_program_the_script_installs(machine: FreshMachine) -> None:
    """Guards the tests below: on this PATH the programs are missing, even on a machine where
    they are installed."""
    probe = subprocess.run(
        [machine.env["STUB_BASH"], "-c",
         "for p in chromium chromedriver redis-server redis-cli npm node; do "
         "command -v $p && exit 1; done; exit 0"],
        env=machine.env, capture_output=True, text=True, check=False)
    assert probe.returncode == 0, probe.stdout


def test_missing_chromium_is_installed(machine: FreshMachine) -> None:
    result = machine.run("chromium")
    assert result.returncode == 0, result.stderr
    _installs(machine, "chromium", "chromium-driver")
    assert result.stdout.strip() == str(machine.installed / "chromium")


def test_missing_chromium_driver_alone_is_installed(machine: FreshMachine) -> None:
    machine.preinstall("chromium")
    result = machine.run("chromium")
    assert result.returncode == 0, result.stderr
    _installs(machine, "chromium", "chromium-driver")


def test_missing_redis_is_installed_and_started(machine: FreshMachine) -> None:
    result = machine.run("redis")
    assert result.returncode == 0, result.stderr
    _installs(machine, "redis-server")
    assert result.stdout.strip() == "redis://127.0.0.1:1"
    started = [c for c in machine.calls() if c.startswith("redis-server ")]
    assert len(started) == 1 and "--bind 127.0.0.1" in started[0]


def test_missing_postgresql_is_installed_and_started(machine: FreshMachine) -> None:
    result = machine.run("postgres")
    assert result.returncode == 0, result.stderr
    _installs(machine, "postgresql")
    assert result.stdout.strip() == "postgresql://postgres@127.0.0.1:1/rhizotomy_test"
    programs = [call.split()[0] for call in machine.calls() if not call.startswith("apt-get")]
    for step in ("initdb", "pg_ctl", "createdb"):
        assert step in programs, programs
    assert any(re.search(r"-h 127\.0\.0\.1", c) for c in machine.calls() if c.startswith("pg_ctl"))


def test_missing_node_and_npm_are_installed(machine: FreshMachine) -> None:
    """Debian's nodejs brings no npm: both are installed, after one `apt-get update`."""
    result = machine.run("npm")
    assert result.returncode == 0, result.stderr
    assert machine.apt_calls() == ["apt-get update -qq", "apt-get install -y -qq nodejs",
                                   "apt-get install -y -qq npm"]
    assert result.stdout.strip() == str(machine.installed / "npm")


def test_missing_npm_beside_an_installed_node_is_installed(machine: FreshMachine) -> None:
    machine.preinstall("nodejs")
    result = machine.run("npm")
    assert result.returncode == 0, result.stderr
    _installs(machine, "npm")


@pytest.mark.parametrize(("service", "packages"), [
    ("chromium", ["chromium", "chromium-driver"]),
    ("redis", ["redis-server"]),
    ("npm", ["nodejs", "npm"]),
])
def test_installed_programs_are_not_installed_again(
    machine: FreshMachine, service: str, packages: list[str]
) -> None:
    for package in packages:
        machine.preinstall(package)
    result = machine.run(service)
    assert result.returncode == 0, result.stderr
    assert machine.apt_calls() == []


def test_postgresql_already_installed_is_not_installed_again(machine: FreshMachine) -> None:
    assert machine.run("postgres").returncode == 0
    first = len(machine.apt_calls())
    result = machine.run("postgres")
    assert result.returncode == 0, result.stderr
    assert len(machine.apt_calls()) == first


@pytest.mark.parametrize("service", ["chromium", "redis", "postgres", "npm"])
def test_without_root_it_says_what_to_install_and_installs_nothing(
    machine: FreshMachine, service: str
) -> None:
    machine.env["STUB_UID"] = "1000"
    result = machine.run(service)
    assert result.returncode != 0
    assert "needs root" in result.stderr and "apt-get install -y" in result.stderr
    assert machine.apt_calls() == []


def test_unknown_service_is_a_usage_error(machine: FreshMachine) -> None:
    result = machine.run("mysql")
    assert result.returncode == 2 and "usage:" in result.stderr


# A shell function named like a program that the same file looks up with `command -v` makes
# the lookup find the function: the bug this file is about, in any script of the repository.
FUNCTION = re.compile(r"^\s*([a-z][a-z0-9_-]*)\s*\(\)", re.MULTILINE)


def _shell_scripts() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.sh", ".ci/run"], cwd=REPO,
                            capture_output=True, text=True, check=False).stdout.split()
    found = [REPO / name for name in listed] or sorted(REPO.glob("scripts/*.sh"))
    return [path for path in found if path.is_file()]


def clashes(text: str) -> list[str]:
    """Functions of a shell script that the same script also looks up with `command -v`."""
    return [name for name in FUNCTION.findall(text)
            if re.search(rf"command -v {re.escape(name)}([\s>;|)&]|$)", text, re.MULTILINE)]


def test_no_script_defines_a_function_named_like_a_program_it_looks_up() -> None:
    scripts = _shell_scripts()
    assert SCRIPT in scripts
    found = [f"{path.relative_to(REPO)}: {name}" for path in scripts
             for name in clashes(path.read_text())]
    assert found == []


def test_the_clash_check_finds_the_old_bug() -> None:
    """Guards the test above with the shape of the original script."""
    old = "chromium() {\n  command -v chromium >/dev/null 2>&1 || apt_install chromium\n}\n"
    assert clashes(old) == ["chromium"]
    assert clashes(SCRIPT.read_text()) == []


def test_script_is_executable() -> None:
    assert os.access(SCRIPT, os.X_OK)
