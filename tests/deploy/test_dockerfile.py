"""Static checks of the Dockerfile and .dockerignore (no Docker engine on the build machines)."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Instruction:
    op: str
    args: str
    stage: int


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    out: list[Instruction] = []
    stage = -1
    logical = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if logical and line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        op, _, args = logical.partition(" ")
        op = op.upper()
        if op == "FROM":
            stage += 1
        out.append(Instruction(op, args.strip(), stage))
        logical = ""
    assert not logical, "the Dockerfile ends inside a continued line"
    return out


def final_stage() -> list[Instruction]:
    ins = instructions()
    last = max(i.stage for i in ins)
    return [i for i in ins if i.stage == last]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(a, str) for a in value), args
    return value


def test_multi_stage_on_python_311_slim() -> None:
    ins = instructions()
    froms = [i for i in ins if i.op == "FROM"]
    assert len(froms) >= 2
    args = {i.args.split("=", 1)[0]: i.args.split("=", 1)[1] for i in ins if i.op == "ARG"
            and "=" in i.args}
    bases = [f.args.split()[0] for f in froms]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], b) for b in bases]
    assert set(resolved) == {"python:3.11-slim"}
    names = [f.args.split()[-1] for f in froms]
    assert all(" AS " in f.args.upper() for f in froms)
    copies = [i.args for i in final_stage() if i.op == "COPY"]
    assert any(c.startswith(f"--from={names[0]} /opt/venv") for c in copies)
    build = [i.args for i in ins if i.stage == 0 and i.op == "RUN"]
    assert any("pip install --no-cache-dir ." in b for b in build)


def test_python_version_matches_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11"
    assert project["scripts"]["gateway"], "the image's ENTRYPOINT is the gateway script"


def test_runs_as_a_numeric_non_root_user() -> None:
    stage = final_stage()
    users = [i for i in stage if i.op == "USER"]
    assert users, "the final stage sets USER"
    uid, _, gid = users[-1].args.partition(":")
    assert uid.isdigit() and int(uid) > 0, "numeric, so runAsNonRoot can verify it"
    assert not gid or (gid.isdigit() and int(gid) > 0)
    after = stage[stage.index(users[-1]) + 1 :]
    assert not [i for i in after if i.op == "RUN"], "nothing runs as the user at build time"
    assert int(uid) == 10001, "the chart's podSecurityContext.runAsUser"


def test_ready_for_a_read_only_root_filesystem() -> None:
    env = " ".join(i.args for i in final_stage() if i.op == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "PATH=/opt/venv/bin:$PATH" in env
    assert "GATEWAY_DATA_DIR=/var/lib/gateway" in env
    assert any(i.op == "WORKDIR" and i.args == "/app" for i in final_stage())


def test_ports_entrypoint_and_command() -> None:
    stage = final_stage()
    assert [i.args for i in stage if i.op == "EXPOSE"] == ["8080"]
    (entry,) = [exec_form(i.args) for i in stage if i.op == "ENTRYPOINT"]
    (cmd,) = [exec_form(i.args) for i in stage if i.op == "CMD"]
    assert entry == ["gateway"]
    assert cmd == ["serve", "--host", "0.0.0.0", "--port", "8080"]  # noqa: S104


def test_healthcheck_hits_livez_with_the_standard_library() -> None:
    (hc,) = [i.args for i in final_stage() if i.op == "HEALTHCHECK"]
    options, _, command = hc.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    argv = exec_form(command)
    assert argv[0].endswith("python")
    assert "http://127.0.0.1:8080/livez" in argv[-1]
    assert "urllib.request" in argv[-1]
    compile(argv[-1], "<healthcheck>", "exec")


def test_no_download_tools_in_the_image() -> None:
    for i in instructions():
        if i.op == "RUN":
            assert not re.search(r"\b(curl|wget)\b", i.args), i.args
    runtime_runs = " ".join(i.args for i in final_stage() if i.op == "RUN")
    assert "apt-get install" not in runtime_runs
    assert "pip install" not in runtime_runs


def test_copied_sources_exist() -> None:
    for i in instructions():
        if i.op == "COPY" and not i.args.startswith("--from"):
            *sources, _dest = i.args.split()
            for src in sources:
                assert (ROOT / src).exists(), src


# ---------------------------------------------------------------------------- .dockerignore


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore pattern (Go filepath.Match per segment, plus `**` for any number
    of directories) as a regular expression on slash-separated paths from the context root."""
    rx = ""
    segments = pattern.strip("/").split("/")
    assert segments[-1] != "**", "a trailing ** is not used here"
    for n, segment in enumerate(segments):
        if segment == "**":
            rx += "(?:[^/]+/)*"
            continue
        rx += "".join({"*": "[^/]*", "?": "[^/]"}.get(ch, re.escape(ch)) for ch in segment)
        rx += "/" if n < len(segments) - 1 else ""
    return re.compile(rx)


def ignored(path: str) -> bool:
    """Whether the build context leaves `path` out: the last matching pattern wins, and a
    pattern matching a directory covers everything beneath it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for pattern in dockerignore():
        negate = pattern.startswith("!")
        rx = _pattern_regex(pattern.removeprefix("!"))
        if any(rx.fullmatch(prefix) for prefix in prefixes):
            result = not negate
    return result


def test_pattern_matching_follows_docker() -> None:
    assert _pattern_regex("**/__pycache__").fullmatch("a/b/__pycache__")
    assert _pattern_regex("**/__pycache__").fullmatch("__pycache__")
    assert not _pattern_regex("*.db").fullmatch("src/x.db")
    assert _pattern_regex("*.db").fullmatch("x.db")
    assert not _pattern_regex("data").fullmatch("src/gateway/data")


@pytest.mark.parametrize(
    "path",
    [".git/config", ".venv/bin/python", "venv/lib", ".ci-venv/bin/pip", "gateway-data/x.sqlite3",
     "test-artifacts/report.xml", ".pytest_cache/v", ".hypothesis/examples", ".env",
     "src/gateway/__pycache__/app.cpython-311.pyc", "tests/conftest.py", "helm/gateway/Chart.yaml"],
)
def test_context_leaves_out(path: str) -> None:
    assert ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "README.md",
        "src/gateway/__init__.py",
        "src/gateway/cli.py",
        "schemas/document.xsd",
        "migrations/env.py",
    ],
)
def test_context_keeps_what_the_build_needs(path: str) -> None:
    assert not ignored(path)


def test_context_keeps_the_package_data() -> None:
    package_files = [
        p.relative_to(ROOT).as_posix()
        for folder in ("src", "schemas", "migrations")
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert package_files
    assert [p for p in package_files if ignored(p)] == []
