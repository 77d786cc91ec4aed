"""One exception family for the whole tool.

Every error the core raises is a ``ProvisionerError``. Each subclass carries
structured fields and builds its own message; the CLI maps the class to an
exit code in exactly one place (``cli.main``). The core never calls
``sys.exit`` or prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Exit codes, documented in the README. Distinct so CI scripts can branch on them.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_LOCKED = 4


class ProvisionerError(Exception):
    """Base of every error the tool raises on purpose."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def __str__(self) -> str:
        return self.message


class BadInput(ProvisionerError):
    """The user gave us something we cannot use: a branch, a file, a value."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(BadInput):
    """A problem in the config file; names the file and the key."""

    def __init__(self, path: str, key: str, problem: str, suggestion: str | None = None) -> None:
        where = f"{path}: {key}" if key else path
        hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
        super().__init__(f"{where}: {problem}{hint}", path=path, key=key, suggestion=suggestion)
        self.path = path
        self.key = key
        self.suggestion = suggestion


class NamingError(BadInput):
    """A branch name we refuse to derive a stack from."""


class RenderError(BadInput):
    """Baseline or overrides cannot produce a staging variable file."""

    def __init__(self, source: str, variable: str | None, problem: str,
                 suggestion: str | None = None) -> None:
        where = f"{source}: {variable}" if variable else source
        hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
        super().__init__(f"{where}: {problem}{hint}", source=source, variable=variable,
                         suggestion=suggestion)
        self.source = source
        self.variable = variable
        self.suggestion = suggestion


class RefusedError(ProvisionerError):
    """A guard refused the operation (production account, quota, ...)."""

    exit_code = EXIT_REFUSED


class LockTimeout(ProvisionerError):
    """Someone else holds the stack and did not let go in time."""

    exit_code = EXIT_LOCKED


class AwsError(ProvisionerError):
    """A boto3 call failed in a way we do not handle."""


class EmulatorError(ProvisionerError):
    """The local AWS emulator could not be started or reached."""


class LocalIOError(ProvisionerError):
    """A local file or directory could not be read or written (read-only, full, no permission)."""


class Interrupted(ProvisionerError):
    """SIGINT or SIGTERM stopped the command; exit 128 + the signal (130, 143)."""

    RESUME = "re-run spinup to continue or teardown to remove"

    def __init__(self, signum: int, *, terraform_ran: bool = False) -> None:
        text = f"interrupted; Terraform saved its state; {self.RESUME}" if terraform_ran else "interrupted"
        super().__init__(text, signum=signum)
        self.signum = signum
        self.terraform_ran = terraform_ran
        self.exit_code = 128 + signum

    def on_a_stack(self) -> Interrupted:
        """The same interruption, saying how to resume (it stopped an operation on a stack)."""
        if not self.terraform_ran and self.message == "interrupted":
            self.message = f"interrupted; {self.RESUME}"
            self.args = (self.message,)
        return self


@dataclass(frozen=True)
class Diagnostic:
    """One Terraform diagnostic (from ``-json`` output)."""

    severity: str
    summary: str
    detail: str = ""
    address: str = ""

    def __str__(self) -> str:
        head = f"{self.severity}: {self.summary}"
        if self.address:
            head += f" ({self.address})"
        return f"{head}\n  {self.detail}" if self.detail else head


class TerraformError(ProvisionerError):
    """A Terraform command failed; carries its diagnostics."""

    def __init__(self, command: str, workdir: str, diagnostics: list[Diagnostic],
                 output: str = "", retcode: int | None = None) -> None:
        errors = [d for d in diagnostics if d.severity == "error"] or diagnostics
        lines = [f"terraform {command} failed in {workdir} (exit {retcode})"]
        lines += [str(d) for d in errors]
        if not errors and output:
            lines.append(output.strip()[-2000:])
        super().__init__("\n".join(lines), command=command, workdir=workdir, retcode=retcode)
        self.command = command
        self.workdir = workdir
        self.diagnostics = diagnostics
        self.output = output
        self.retcode = retcode

    @property
    def lock_id(self) -> str | None:
        """The state lock id when the failure is a held lock, else None."""
        import re

        for d in self.diagnostics:
            if "state lock" in d.summary.lower():
                m = re.search(r"ID:\s*([0-9a-fA-F-]{8,})", d.detail)
                if m:
                    return m.group(1)
        return None
