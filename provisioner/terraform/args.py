"""Every Terraform command line, built by one pure function (``build_args``, table-tested), and the
keyword arguments python-terraform needs for the same command."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Options:
    """Inputs of ``build_args``; each command accepts only some of them (see ``COMMANDS``)."""

    destroy: bool = False
    var_files: tuple[str, ...] = ()
    lock_timeout: str | None = None
    backend_config: tuple[str, ...] = ()
    lock_id: str | None = None
    out: str | None = None              # plan: write the plan to this file (``-out=``)
    plan_file: str | None = None        # show: the saved plan to read
    workspace: str | None = None
    state_file: str | None = None       # state push: the state file to write to the backend


DEFAULT_OPTIONS = Options()


@dataclass(frozen=True)
class CommandSpec:
    """How one command is spelled: its words, its fixed flags, the Options it takes."""

    words: tuple[str, ...]
    flags: tuple[str, ...]
    accepts: frozenset[str] = frozenset()


_RUN = ("-input=false", "-no-color", "-json")
COMMANDS: Mapping[str, CommandSpec] = {
    # -reconfigure: the backend settings are generated on every run (the emulator's port may
    # change); state is never migrated between backends.
    "init": CommandSpec(("init",), ("-input=false", "-no-color", "-reconfigure"),
                        frozenset({"backend_config", "lock_timeout"})),
    "plan": CommandSpec(("plan",), (*_RUN, "-detailed-exitcode"),
                        frozenset({"destroy", "var_files", "lock_timeout"})),
    "apply": CommandSpec(("apply",), (*_RUN, "-auto-approve"), frozenset({"var_files", "lock_timeout"})),
    "destroy": CommandSpec(("destroy",), (*_RUN, "-auto-approve"), frozenset({"var_files", "lock_timeout"})),
    # Drift: what changed outside Terraform, nothing proposed for the configuration.
    "plan refresh-only": CommandSpec(("plan",), ("-refresh-only", *_RUN, "-detailed-exitcode"),
                                     frozenset({"var_files", "lock_timeout", "out"})),
    "show": CommandSpec(("show",), ("-json", "-no-color"), frozenset({"plan_file"})),
    "output": CommandSpec(("output",), ("-no-color", "-json")),
    "state list": CommandSpec(("state", "list"), ("-no-color",)),
    "state pull": CommandSpec(("state", "pull"), ()),
    # no -force: Terraform refuses a state of another lineage or older than the backend's
    "state push": CommandSpec(("state", "push"), (), frozenset({"state_file", "lock_timeout"})),
    "force-unlock": CommandSpec(("force-unlock",), ("-force", "-no-color"), frozenset({"lock_id"})),
    "version": CommandSpec(("version",), ("-json",)),
    # one Terraform workspace per stack, so terraform.workspace differs between stacks
    "workspace select": CommandSpec(("workspace", "select"), ("-or-create=true", "-no-color"),
                                    frozenset({"workspace"})),
}


# Exit codes that are not failures; everything else raises TerraformError.
EXPECTED_CODES: Mapping[str, tuple[int, ...]] = {"plan": (0, 2), "plan refresh-only": (0, 2)}


def _set_options(options: Options) -> set[str]:
    default = Options()
    return {name for name in default.__dataclass_fields__
            if getattr(options, name) != getattr(default, name)}


def build_args(command: str, *, options: Options | None = None) -> list[str]:
    """The argv (without the program and without ``-chdir``) for one command.

    Raises ValueError for an unknown command or an option the command does not take.
    """
    spec = COMMANDS.get(command)
    if spec is None:
        raise ValueError(f"unknown terraform command {command!r}; known: {sorted(COMMANDS)}")
    options = options or Options()
    unsupported = _set_options(options) - spec.accepts
    if unsupported:
        raise ValueError(f"terraform {command} does not take {sorted(unsupported)}")
    if command == "force-unlock" and not options.lock_id:
        raise ValueError("terraform force-unlock needs a lock_id")
    if command == "show" and not options.plan_file:
        raise ValueError("terraform show needs a plan_file")
    if command == "workspace select" and not options.workspace:
        raise ValueError("terraform workspace select needs a workspace")
    if command == "state push" and not options.state_file:
        raise ValueError("terraform state push needs a state_file")
    argv = [*spec.words, *spec.flags]
    if options.destroy:
        argv.append("-destroy")
    if options.lock_timeout:
        argv.append(f"-lock-timeout={options.lock_timeout}")
    argv += [f"-var-file={path}" for path in options.var_files]
    argv += [f"-backend-config={value}" for value in options.backend_config]
    if options.out:
        argv.append(f"-out={options.out}")
    if options.lock_id:
        argv.append(options.lock_id)
    if options.plan_file:
        argv.append(options.plan_file)
    if options.workspace:
        argv.append(options.workspace)
    if options.state_file:
        argv.append(options.state_file)
    return argv


def python_terraform_kwargs(command: str, options: Options | None = None) -> dict[str, Any]:
    """Keyword arguments for python-terraform's init/plan/apply/destroy methods.

    They undo its defaults that Terraform >= 0.15 rejects or that change behaviour:
    ``var={}`` (would add an empty temporary ``-var-file``), init's ``-backend=true``,
    apply's ``-auto-approve=false`` (``skip_plan=True``), destroy's ``-force``
    (``force=IsNotFlagged``). No positional directory is ever passed (it is taken for a plan
    file); the working directory is the subprocess cwd. The resulting
    command line equals ``build_args`` (up to order and ``-x=true`` for ``-x``).
    """
    from python_terraform import IsFlagged, IsNotFlagged

    options = options or Options()
    build_args(command, options=options)  # same validation as the embedded engine
    kwargs: dict[str, Any] = {"var": None, "no_color": IsFlagged, "input": False,
                              "lock_timeout": options.lock_timeout}
    if command == "init":
        kwargs.update(reconfigure=IsFlagged, backend=None,
                      backend_config=list(options.backend_config) or None)
        return kwargs
    if command not in ("plan", "apply", "destroy"):
        raise ValueError(f"python-terraform has no method for {command!r}; use build_args")
    kwargs.update(json=IsFlagged, var_file=list(options.var_files) or None)
    if command == "plan":
        kwargs.update(detailed_exitcode=IsFlagged, destroy=IsFlagged if options.destroy else None)
    elif command == "apply":
        kwargs.update(skip_plan=True)
    else:
        kwargs.update(force=IsNotFlagged, auto_approve=IsFlagged)
    return kwargs
