"""The deployment files say what the README promises: Dockerfile, docker-compose.yml, the systemd unit.

Docker cannot build here (no daemon), so the Dockerfile and the Compose file are
parsed and checked against the code they configure (the HTTP port the Slack
adapter listens on, the digest stop grace, the exit statuses), and the health
check's own command is run against real stores. The systemd unit is checked
the same way, and by `systemd-analyze verify` where that exists.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from adapters.slack.settings import DEFAULT_HTTP_PORT
from bot import cli
from bot.config import DigestConfig
from tests.support import EXAMPLE_LIST, ROOT

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
UNIT = ROOT / "config" / "paperbot.service"
DATA_VOLUME = "/data"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def instruction(name: str) -> list[str]:
    return [args for keyword, args in dockerfile_instructions() if keyword == name]


def healthcheck_command() -> list[str]:
    (args,) = instruction("HEALTHCHECK")
    return yaml.safe_load(args.split(" CMD ", 1)[1])  # the exec form is a JSON (so YAML) list


def healthcheck_options() -> dict[str, str]:
    (args,) = instruction("HEALTHCHECK")
    return dict(re.findall(r"--([a-z-]+)=(\S+)", args.split(" CMD ", 1)[0]))


def compose_service() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]["paperbot"]


def seconds(duration: str) -> float:
    """Docker's durations as used here: `10s`, `5m`, `1m30s`."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


# --- Dockerfile ---------------------------------------------------------------------------


def test_the_base_image_is_pinned_to_an_exact_python_release_the_project_supports():
    (base,) = instruction("FROM")
    match = re.fullmatch(r"python:(3)\.(\d+)\.(\d+)-slim-([a-z]+)(@sha256:[0-9a-f]{64})?", base)
    assert match, f"{base}: pin python:3.11.<patch>-slim-<debian> (optionally @sha256:...), not a moving tag"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={match[1]}.{match[2]}", (base, requires)
    assert f"`{base.split('@')[0]}`" in (ROOT / "README.md").read_text(), "the README names the pinned base image"


def test_the_image_runs_as_a_numeric_non_root_user_that_owns_the_data_volume():
    (user,) = instruction("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) > 0 and int(gid) > 0, user
    (run,) = [args for args in instruction("RUN") if "useradd" in args]
    assert f"--uid {uid}" in run and f"--gid {gid}" in run and f"chown {uid}:{gid} {DATA_VOLUME}" in run, run
    assert instruction("VOLUME") == [f'["{DATA_VOLUME}"]']
    env = " ".join(instruction("ENV"))
    assert f"PAPERBOT_DB={DATA_VOLUME}/paperbot.db" in env
    assert f"`{uid}:{gid}`" in (ROOT / "README.md").read_text()


def test_the_image_exposes_the_slack_http_mode_port_and_runs_the_bot():
    assert instruction("EXPOSE") == [str(DEFAULT_HTTP_PORT)]
    assert instruction("CMD") == ['["paperbot", "run"]']
    assert instruction("STOPSIGNAL") in ([], ["SIGTERM"])


def test_no_secret_is_baked_into_the_image():
    for keyword, args in dockerfile_instructions():
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"TOKEN|SECRET|API_KEY|WEBHOOK", args), args


def test_every_package_the_project_installs_is_copied_and_not_ignored():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = [word for args in instruction("COPY") for word in args.split()[:-1]]
    ignored = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    for needed in [*packages, "pyproject.toml", "README.md", "LICENSE", "config"]:
        assert needed in copied, f"the Dockerfile does not COPY {needed}"
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"{source} is excluded by .dockerignore"


def test_secrets_and_local_state_stay_out_of_the_build_context():
    ignored = (ROOT / ".dockerignore").read_text().split()
    env_file = compose_service()["env_file"]
    for name in (env_file, ".venv", ".git", "data"):
        assert name in ignored, name
    assert env_file in (ROOT / ".gitignore").read_text().split()


def test_the_healthcheck_runs_the_read_only_status_and_reports_unhealthy_with_exit_1():
    command = healthcheck_command()
    assert command[:2] == ["sh", "-c"] and re.fullmatch(r"paperbot status( [^|]*)? \|\| exit 1", command[2]), command
    options = healthcheck_options()
    assert {"interval", "timeout", "start-period", "retries"} <= set(options), options
    assert seconds(options["timeout"]) < seconds(options["interval"])


def _status_env(tmp_path: Path, db: Path, config: Path) -> dict[str, str]:
    """The container's view: `paperbot` on PATH, the store and config from the environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    launcher = bin_dir / "paperbot"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bot "$@"\n')
    launcher.chmod(0o755)
    keep = {name: value for name, value in os.environ.items() if not name.startswith(("PAPERBOT_", "SLACK_", "DISCORD_"))}
    return {**keep, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PAPERBOT_DB": str(db), "PAPERBOT_CONFIG": str(config),
            "PYTHONPATH": str(ROOT)}


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_healthcheck_command_is_healthy_only_when_status_has_nothing_to_report(tmp_path):
    """Runs the Dockerfile's health check command itself: 0 healthy, 1 unhealthy, never 2 (Docker reserves it)."""
    db = tmp_path / "paperbot.db"
    fine = tmp_path / "fine.toml"
    fine.write_text('example_data = false\n[fetch]\nenabled = false\n')
    assert cli.main(["--db", str(db), "--config", str(fine), "import", str(EXAMPLE_LIST)]) == 0
    command = healthcheck_command()

    def health(config: Path, store: Path = db) -> int:
        return subprocess.run(
            command, env=_status_env(tmp_path, store, config), capture_output=True, timeout=60, cwd=tmp_path
        ).returncode

    assert health(fine) == 0
    # A webhook subscription whose URL variable is missing cannot be delivered: attention.
    undeliverable = tmp_path / "undeliverable.toml"
    undeliverable.write_text(fine.read_text() + '[[subscriptions]]\nadapter = "webhook"\nchannel = "#papers"\n'
                             'topic = "reward-model-vlm"\nwebhook_env = "PAPERBOT_TEST_UNSET_WEBHOOK"\n')
    assert health(undeliverable) == 1
    # A store that cannot be read is exit status 2 for `paperbot status`, mapped to 1 for Docker.
    assert (
        subprocess.run(
            ["paperbot", "status"], env=_status_env(tmp_path, ROOT / "README.md", fine), capture_output=True, timeout=60
        ).returncode
        == 2
    )
    assert health(fine, ROOT / "README.md") == 1


# --- docker-compose.yml -----------------------------------------------------------------------


def test_compose_restarts_the_bot_keeps_the_store_on_a_volume_and_reads_tokens_from_a_file():
    compose = yaml.safe_load(COMPOSE.read_text())
    service = compose["services"]["paperbot"]
    assert service["restart"] in ("unless-stopped", "always")
    volume, _, target = service["volumes"][0].partition(":")
    assert target == DATA_VOLUME and volume in compose["volumes"], service["volumes"]
    assert isinstance(service["env_file"], str) and service["env_file"].endswith(".env")
    assert service["build"] == "."
    assert "environment" not in service or not any(re.search("TOKEN|SECRET", key) for key in service["environment"])


def test_compose_health_check_is_the_images_and_its_stop_grace_lets_a_digest_finish():
    service = compose_service()
    check = service["healthcheck"]
    assert check["test"] == ["CMD", *healthcheck_command()]
    options = healthcheck_options()
    for key in ("interval", "timeout", "retries"):
        assert str(check[key]) == options[key], key
    assert check["start_period"] == options["start-period"]
    assert seconds(service["stop_grace_period"]) > DigestConfig().stop_grace_seconds


# --- the systemd unit ----------------------------------------------------------------------------


def unit_settings() -> dict[str, dict[str, list[str]]]:
    """[Section] -> key -> every value (systemd allows repeated keys, e.g. Environment=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_systemd_unit_restarts_on_failure_but_not_on_a_config_error():
    service = unit_settings()["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == [str(cli.EXIT_USAGE)]
    assert service["ExecStart"][0].endswith("/paperbot run")
    assert service["StandardInput"] == ["null"]  # no console under systemd
    assert "network-online.target" in unit_settings()["Unit"]["After"][0]  # it fetches from arXiv at start


def test_the_systemd_unit_runs_as_a_dedicated_user_with_tokens_from_an_environment_file():
    service = unit_settings()["Service"]
    assert service["User"] != ["root"] and service["User"] == ["paperbot"]
    assert service["EnvironmentFile"] and not service["EnvironmentFile"][0].startswith("-")  # a missing file is an error
    assert service["WorkingDirectory"][0].startswith("/")
    env = dict(item.split("=", 1) for item in service["Environment"])
    assert env["PAPERBOT_DB"].startswith(f"/var/lib/{service['StateDirectory'][0]}/")
    assert not any(re.search("TOKEN|SECRET", key) for key in env)


def test_the_systemd_unit_stops_with_sigterm_and_waits_longer_than_the_digest_grace():
    service = unit_settings()["Service"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert (
        seconds(service["TimeoutStopSec"][0] + ("s" if service["TimeoutStopSec"][0].isdigit() else ""))
        > DigestConfig().stop_grace_seconds
    )


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.subprocess
def test_systemd_accepts_the_unit(tmp_path):
    # The unit's ExecStart points at /opt/paperbot; verify a copy pointing at this checkout's entry point.
    executable = Path(sys.executable).with_name("paperbot")
    unit = tmp_path / "paperbot.service"
    unit.write_text(re.sub(r"^ExecStart=\S+", f"ExecStart={executable}", UNIT.read_text(), flags=re.M))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in result.stderr.splitlines() if "paperbot.service" in line]
    assert result.returncode == 0 and not problems, result.stderr

