"""Staging data: datasets parsed from config, synthetic generation, anonymising rules, the
privacy check and loaders for DynamoDB, S3 and PostgreSQL.

Imports from the rest of the package only `errors` and `aws`. The public API:

    parse_datasets(data, source, base_dir) -> Datasets
    plan(outputs, stack_id, specs, aws, dsn, versions, *, secret) -> DataPlan
    seed(outputs, stack_id, specs, aws, dsn, versions, *, secret, expected_tags=None) -> SeedResult
    reset(..., *, secret, expected_tags=None, only=None) -> SeedResult
    source_changed(spec, version, aws) -> bool;  due_for_refresh(specs, versions, aws) -> [name]
    differences(specs) -> (DataDifference, ...)       # for `diff`: what staging holds instead
    check_target_tags(aws, [(kind, name)], expected_tags)
    drop_database(dsn, name) -> bool                  # teardown of a stack's PostgreSQL database
    provisioner.data.pgserver: start / stop / status of a local PostgreSQL

Importing the package loads no submodule: each name loads its module on first use
(``lazy_loader``), so a command that never seeds (a teardown of a stack without a database, a
skipped spinup) does not pay for the loaders, the privacy rules or msgspec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

_EXPORTS = {
    "errors": ["DataSpecError", "LoadError", "PgServerError", "PrivacyError", "SourceError", "TagMismatch",
               "TargetError", "UnclassifiedField"],
    "loaders.postgres": ["drop_database"],
    "ops": ["DataDifference", "DataPlan", "DatasetPlan", "SeedResult", "differences", "due_for_refresh",
            "plan", "reset", "seed", "source_changed"],
    "spec": ["Datasets", "DatasetSpec", "Scale", "Subset", "parse_datasets"],
    "tags": ["check_target_tags"],
    "versions": ["DatasetVersion", "from_record", "to_record"],
}
__getattr__, __dir__, _ = lazy_loader.attach(__name__, submod_attrs=_EXPORTS)

if TYPE_CHECKING:
    from .errors import (
        DataSpecError,
        LoadError,
        PgServerError,
        PrivacyError,
        SourceError,
        TagMismatch,
        TargetError,
        UnclassifiedField,
    )
    from .loaders.postgres import drop_database
    from .ops import (
        DataDifference,
        DataPlan,
        DatasetPlan,
        SeedResult,
        differences,
        due_for_refresh,
        plan,
        reset,
        seed,
        source_changed,
    )
    from .spec import Datasets, DatasetSpec, Scale, Subset, parse_datasets
    from .tags import check_target_tags
    from .versions import DatasetVersion, from_record, to_record

__all__ = [
    "DataDifference", "DataPlan", "DataSpecError", "DatasetPlan", "DatasetSpec", "DatasetVersion", "Datasets",
    "LoadError", "PgServerError", "PrivacyError", "Scale", "SeedResult", "SourceError", "Subset",
    "TagMismatch", "TargetError", "UnclassifiedField", "check_target_tags", "differences", "drop_database",
    "due_for_refresh",
    "from_record", "parse_datasets", "plan", "reset", "seed", "source_changed", "to_record",
]
