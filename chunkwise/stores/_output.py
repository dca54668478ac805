"""A run's files: the output paths and sidecars, the journal that commits them together, the
lock on a run's state, and orphaned part files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, InputDataError
from .sources import OutputFormat, fsync_directory, write_atomically, write_durably



SIDECAR_NAMES = {"removed": ".removed.jsonl", "quarantine": ".quarantine.jsonl", "report_json": ".report.json",
                  "report_text": ".report.txt", "report_html": ".report.html", "sample_html": ".sample.html",
                  "summary": ".summary.json"}
SIDECARS = tuple(SIDECAR_NAMES.values())


@dataclass(frozen=True)
class OutputPaths:
    """Where a run writes: the chunk file, its sidecars and the state folder.

    Sidecars and state are named after the whole chunk file name
    (``chunks.jsonl.report.json``), so ``x/chunks.jsonl`` and
    ``x/chunks.parquet`` never share them.
    """

    chunks: Path
    output_format: OutputFormat

    def sidecar(self, suffix: str) -> Path:
        return self.chunks.with_name(self.chunks.name + suffix)

    @property
    def visible(self) -> list[Path]:
        """Every file a run writes beside the chunk file."""
        return [self.chunks, *(self.sidecar(suffix) for suffix in SIDECARS)]

    def remove_stale_temporaries(self) -> None:
        """Temporary files a killed run left (hidden, never mistaken for output, but still litter)."""
        for path in self.visible:
            for stale in path.parent.glob(f".{path.name}.tmp-*"):
                stale.unlink(missing_ok=True)

    @property
    def state(self) -> Path:
        return self.chunks.with_name(self.chunks.name + ".state")

    @property
    def parts(self) -> Path:
        return self.state / "parts"

    @property
    def journal(self) -> Path:
        """The commit record: while it exists, the files it names are being moved into place."""
        return self.state / "commit.json"

    def finish_interrupted_commit(self) -> bool:
        """Complete a commit a killed run had decided on (its journal is written); True if there was one.

        Safe to call while a run is committing too: every step is a rename
        that is skipped when it has been done.
        """
        try:
            journal = json.loads(self.journal.read_bytes())
        except FileNotFoundError:
            return False
        _roll_forward(self.chunks.parent, journal["files"])
        self.journal.unlink(missing_ok=True)
        fsync_directory(self.state)
        return True

    @classmethod
    def for_output(cls, output: str | os.PathLike[str], output_format: OutputFormat | None) -> OutputPaths:
        """The paths for ``-o output``: a .jsonl or .parquet file, or a folder (existing, or named with no suffix)."""
        path = Path(output)
        if path.is_dir() or not path.suffix or str(output).endswith(os.sep):
            path = path / f"chunks.{output_format or 'jsonl'}"
        detected = path.suffix.lower().lstrip(".")
        if detected not in ("jsonl", "parquet"):
            raise ConfigError(
                f"output {path} must end in .jsonl or .parquet (the chunk file's format), or name a folder "
                f"(end it with {os.sep} when its name has a dot)"
            )
        if output_format is not None and output_format != detected:
            raise ConfigError(f"output {path} has suffix .{detected} but output_format={output_format!r}")
        return cls(path, output_format or detected)


def _roll_forward(folder: Path, files: list[list[str]]) -> None:
    """Move each staged temporary file onto its final name, in order; a rename already done is skipped.

    A temporary that is gone without having been moved (removed by hand) is
    skipped too: the next run writes every file again.
    """
    for temporary, final in files:
        try:
            os.replace(folder / temporary, folder / final)
        except FileNotFoundError:
            pass
    fsync_directory(folder)


class Commit:
    """The files of one run, staged under temporary names and then moved into place as one commit.

    ``commit`` first writes a journal naming every (temporary, final) pair,
    then renames. A kill before the journal leaves the previous run's files
    untouched (the temporaries are removed on the next start); a kill after
    it is finished by ``OutputPaths.finish_interrupted_commit``, which the next
    run and ``chunkwise report`` call first. So a reader never sees a new
    report beside an old chunk file.
    """

    def __init__(self, paths: OutputPaths, run_id: str) -> None:
        self._paths = paths
        self.run_id = run_id
        self._staged: list[tuple[Path, Path]] = []

    def temporary(self, final: Path) -> Path:
        """The temporary name ``final`` is staged under (the caller writes and fsyncs it)."""
        temporary = final.with_name(f".{final.name}.tmp-{self.run_id}")
        self._staged.append((temporary, final))
        return temporary

    def stage(self, final: Path, data: bytes) -> None:
        write_durably(self.temporary(final), data)

    def commit(self) -> None:
        files = [[temporary.name, final.name] for temporary, final in self._staged]
        fsync_directory(self._paths.chunks.parent)  # the staged files' names are durable before the journal
        write_atomically(self._paths.journal, json.dumps({"run_id": self.run_id, "files": files}).encode())
        self._staged.clear()
        self._paths.finish_interrupted_commit()

    def abort(self) -> None:
        """Remove what was staged (only before ``commit``: after it, the journal finishes the job)."""
        for temporary, _ in self._staged:
            temporary.unlink(missing_ok=True)
        self._staged.clear()


class StateLock:
    """An exclusive lock on the state folder: two runs must not write one output.

    ``filelock`` (flock on POSIX, msvcrt on Windows), so ``import chunkwise`` needs no
    POSIX-only module.
    """

    def __init__(self, state: Path) -> None:
        from filelock import FileLock, Timeout

        state.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(state / "lock", timeout=0)
        try:
            self._lock.acquire()
        except Timeout as err:
            raise InputDataError(f"another chunkwise run is writing {state.parent}; wait for it or use another -o") from err

    def release(self) -> None:
        self._lock.release()


def remove_orphans(parts_dir: Path, known: set[str]) -> None:
    """Part files no committed batch points to (a crash between write and commit), and temporary files."""
    for path in parts_dir.iterdir():
        if path.name not in known:
            path.unlink(missing_ok=True)
