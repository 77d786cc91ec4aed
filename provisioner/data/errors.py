"""Errors of the data tier. Each carries its fields and builds its own message.

The privacy errors deliberately carry the *kind* of finding (email, card number, ...) and where it
is (dataset, row, field), never the value: the message ends up in CI logs and PR comments, so
printing the value would leak the very thing the check exists to stop.
"""

from __future__ import annotations

from ..errors import BadInput, ProvisionerError, RefusedError


class DataSpecError(BadInput):
    """A `[data.<name>]` table or a schema file is wrong; names the file, dataset and key."""

    def __init__(self, path: str, dataset: str, key: str, problem: str,
                 suggestion: str | None = None) -> None:
        where = ".".join(p for p in ("data", dataset, key) if p)
        hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
        super().__init__(f"{path}: {where}: {problem}{hint}", path=path, dataset=dataset, key=key,
                         suggestion=suggestion)
        self.path = path
        self.dataset = dataset
        self.key = key
        self.suggestion = suggestion


class UnclassifiedField(BadInput):
    """The export has a field that no rule names: the whole dataset is refused."""

    def __init__(self, dataset: str, field: str, row: int) -> None:
        super().__init__(
            f"dataset '{dataset}': field '{field}' of the export (first seen in row {row}) has no rule; "
            f"add data.{dataset}.fields.{field} (keep, hash, fake, redact, mask, shift_date, "
            "generalise, null or ref)", dataset=dataset, field=field, row=row)
        self.dataset = dataset
        self.field = field
        self.row = row


class PrivacyError(BadInput):
    """A value about to be loaded looks like personal data. The value itself is never shown."""

    def __init__(self, dataset: str, row: int, field: str, finding: str) -> None:
        super().__init__(
            f"dataset '{dataset}': row {row}, field '{field}': {finding}; nothing was loaded "
            "(the value is not shown)", dataset=dataset, row=row, field=field, finding=finding)
        self.dataset = dataset
        self.row = row
        self.field = field
        self.finding = finding


class SourceError(BadInput):
    """An export cannot be read: missing file, bad line, unknown format."""

    def __init__(self, dataset: str, source: str, problem: str) -> None:
        super().__init__(f"dataset '{dataset}': source {source}: {problem}", dataset=dataset,
                         source=source)
        self.dataset = dataset
        self.source = source


class TargetError(BadInput):
    """A dataset's target cannot be resolved from the stack outputs or does not fit the data."""

    def __init__(self, dataset: str, target: str, problem: str) -> None:
        super().__init__(f"dataset '{dataset}': target '{target}': {problem}", dataset=dataset,
                         target=target)
        self.dataset = dataset
        self.target = target


class TagMismatch(RefusedError):
    """A store does not carry the stack's tags: it may not be this stack's, so nothing is written."""

    def __init__(self, resource: str, key: str, expected: str, found: str | None) -> None:
        seen = "missing" if found is None else f"'{found}'"
        super().__init__(f"{resource}: tag '{key}' is {seen}, expected '{expected}'; refusing to "
                         "write data into a store that is not this stack's", resource=resource,
                         key=key, expected=expected, found=found)
        self.resource = resource
        self.key = key


class LoadError(ProvisionerError):
    """Writing to a store failed (after retries)."""

    def __init__(self, dataset: str, store: str, problem: str) -> None:
        super().__init__(f"dataset '{dataset}': loading into {store} failed: {problem}",
                         dataset=dataset, store=store)
        self.dataset = dataset
        self.store = store


class PgServerError(ProvisionerError):
    """The local PostgreSQL server could not be found, initialised, started or stopped."""

    def __init__(self, problem: str, **fields: object) -> None:
        super().__init__(f"local PostgreSQL: {problem}", **fields)
