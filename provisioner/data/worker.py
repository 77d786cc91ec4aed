"""A spool worker: `python -m provisioner.data.worker`, one job as JSON on stdin, its result as JSON
on stdout.

A child process of our own rather than a multiprocessing pool: `spawn` re-runs the caller's
`__main__` in every worker (a script without an `if __name__` guard, or one read from stdin, breaks
or recurses) and `fork` copies whatever threads and runtimes the caller holds. This child imports
only the data tier, makes the chunks it is given and hands back a typed result.
"""

from __future__ import annotations

import sys

import msgspec

from .spec import Datasets, DatasetSpec


class Job(msgspec.Struct, frozen=True):
    spec: DatasetSpec
    datasets: Datasets
    stack_id: str
    chunks: list[int]
    paths: list[str]


class ChunkResult(msgspec.Struct, frozen=True):
    chunk: int
    rows: int
    refusal: tuple[int, str, str] | None   # (row, field, finding): errors with fields do not pickle


def run(job: Job) -> list[ChunkResult]:
    from .synthetic import spool_chunk

    out = []
    for chunk, path in zip(job.chunks, job.paths, strict=True):
        rows, refusal = spool_chunk(job.spec, job.datasets, job.stack_id, chunk, path)
        out.append(ChunkResult(chunk, rows, refusal))
        if refusal is not None:
            break
    return out


def main() -> int:
    job = msgspec.json.decode(sys.stdin.buffer.read(), type=Job)
    sys.stdout.buffer.write(msgspec.json.encode(run(job)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
