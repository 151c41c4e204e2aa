"""what `docker build` would put in the image, worked out from the Dockerfile and .dockerignore (no docker
engine on the test machines): the build context that .dockerignore admits, and where the build stage's COPY
instructions put it under the runtime image's /app."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tests.support.processes import ROOT


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    exclude: bool


def translate(pattern: str) -> re.Pattern[str]:
    """a .dockerignore pattern (go's filepath.Match plus `**`, as moby's patternmatcher reads it) as a regex."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith(("!", "^")) else body) + "]"
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return re.compile(f"^{out}$")


def dockerignore(path: Path = ROOT / ".dockerignore") -> list[Pattern]:
    patterns = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        cleaned = str(PurePosixPath(line.lstrip("!").strip())).lstrip("/")
        patterns.append(Pattern(translate(cleaned), exclude))
    return patterns


def in_context(relative: str, patterns: list[Pattern]) -> bool:
    """moby's rule: the last pattern matching the path or one of its parent directories decides."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for pattern in patterns:
        if any(pattern.regex.match(prefix) for prefix in prefixes):
            excluded = pattern.exclude
    return not excluded


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    destination: str


def _stages(text: str) -> list[tuple[str, str]]:
    """(name, body) of every stage; an unnamed stage has the name ''."""
    text = text.replace("\\\n", " ")
    stages = []
    for chunk in re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]:
        header, _, body = chunk.partition("\n")
        match = re.search(r"\bAS (\S+)", header, flags=re.IGNORECASE)
        stages.append((match.group(1) if match else "", body))
    return stages


def build_copies(dockerfile: Path = ROOT / "Dockerfile") -> tuple[str, list[Copy]]:
    """the build stage's WORKDIR and its COPY instructions from the context (not --from another stage), checking
    that the runtime stage (the last) takes that WORKDIR whole from it."""
    stages = _stages(dockerfile.read_text())
    runtime = stages[-1][1]
    taken = re.findall(r"^COPY --from=(\S+) (\S+) (\S+)\s*$", runtime, flags=re.MULTILINE)
    (stage_name, source, target) = next((t for t in taken if t[0] != "uv"), ("", "", ""))
    body = dict(stages)[stage_name]
    workdir = re.findall(r"^WORKDIR (\S+)", body, flags=re.MULTILINE)[-1]
    assert source == target == workdir, "the runtime image takes the build stage's WORKDIR as it is"
    copies = []
    for line in re.findall(r"^COPY (.+)$", body, flags=re.MULTILINE):
        words = [w for w in line.split() if not w.startswith("--")]
        if "--from=" in line or len(words) < 2:
            continue
        copies.append(Copy(tuple(words[:-1]), words[-1]))
    return workdir, copies


def _files_under(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for child in sorted(path.rglob("*")):
        if child.is_file():
            yield child


def image_files() -> dict[str, Path]:
    """every file the image's /app holds from the context, by its path under /app, with its source file."""
    workdir, copies = build_copies()
    patterns = dockerignore()
    files: dict[str, Path] = {}
    for copy in copies:
        into_directory = copy.destination.endswith("/") or len(copy.sources) > 1
        destination = PurePosixPath(workdir) / copy.destination
        for source in copy.sources:
            origin = ROOT / source
            if not origin.exists():
                raise AssertionError(f"COPY {source}: no such file in the repository")
            admitted = [f for f in _files_under(origin) if in_context(f.relative_to(ROOT).as_posix(), patterns)]
            if not admitted:  # docker build stops here: "not found" in the build context
                raise AssertionError(f"COPY {source}: .dockerignore leaves it out of the build context")
            for file in admitted:
                if origin.is_file():
                    target = destination / origin.name if into_directory else destination
                else:
                    target = destination / file.relative_to(origin).as_posix()
                files[str(target.relative_to(workdir))] = file
    return files


def assemble(target: Path) -> Path:
    """the image's /app as a directory: what the app would find at run time."""
    for relative, source in image_files().items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / relative)
    return target
