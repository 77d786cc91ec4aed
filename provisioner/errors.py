"""One exception family for the whole tool.

Every error the core raises is a ``ProvisionerError``. Each subclass carries
structured fields and builds its own message; the CLI maps the class to an
exit code in exactly one place (``cli.main``). The core never calls
``sys.exit`` or prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Exit codes, documented in the README. Distinct so CI scripts can branch on them.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_LOCKED = 4
EXIT_NOT_FOUND = 5


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


class NoSuchStack(ProvisionerError):
    """The branch (or stack id) names no live stack: not a failure of Terraform or AWS."""

    exit_code = EXIT_NOT_FOUND

    def __init__(self, branch: str, slug: str, suggestions: list[str], hint: str = "") -> None:
        super().__init__(f"no live stack for branch {branch!r} ({slug}){hint}", branch=branch, slug=slug,
                         suggestions=suggestions)
        self.branch = branch
        self.slug = slug
        self.suggestions = suggestions


class VariableRejected(BadInput):
    """The module's own validation rule refused a staging variable: names where the value came from."""


class HealthFailed(ProvisionerError):
    """The stack was applied but its health checks or its tests failed. Nothing is destroyed: the
    stack stays for debugging and its record says what failed (``--no-health-gate``: exit 0)."""

    exit_code = EXIT_FAILURE


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
    variable: str = ""   # the input variable a diagnostic is about ("var.x" in its snippet), if any

    def __str__(self) -> str:
        code = aws_error_code(self.summary) if self.address else None
        if code is not None:   # one line: the resource, the AWS error code, what AWS said
            return f"{self.severity}: {self.address}: {aws_line(self.summary, code)}" + (
                f"\n  {self.detail}" if self.detail else "")
        head = f"{self.severity}: {self.summary}"
        if self.address:
            head += f" ({self.address})"
        return f"{head}\n  {self.detail}" if self.detail else head


_AWS_CODE = re.compile(r": ([A-Z][A-Za-z0-9]+(?:\.[A-Za-z0-9]+)?): ")
_AWS_STATUS = re.compile(r"\s*status code: (\d+), request id: \S*")


def aws_error_code(summary: str) -> str | None:
    """The AWS error code in a provider's message ("Error creating X: EntityAlreadyExists: ...")."""
    m = _AWS_CODE.search(summary)
    return m.group(1) if m else None


def aws_line(summary: str, code: str) -> str:
    """``EntityAlreadyExists: Role with name x already exists. (creating IAM Role x; HTTP 409)``."""
    status = _AWS_STATUS.search(summary)
    text = _AWS_STATUS.sub("", summary).strip()
    action, _, said = text.partition(f": {code}: ")
    action = action.removeprefix("Error ").strip()
    notes = "; ".join(n for n in (action[:1].lower() + action[1:] if action else "",
                                  f"HTTP {status.group(1)}" if status else "") if n)
    return f"{code}: {' '.join(said.split())}" + (f" ({notes})" if notes else "")


def _where(workdir: str) -> str:
    """Not the local path (it lands in the board and the PR comment): the stack it belongs to."""
    parts = workdir.replace("\\", "/").split("/")
    if "stacks" in parts and parts.index("stacks") + 1 < len(parts):
        return f" for stack {parts[parts.index('stacks') + 1]}"
    return ""


class TerraformError(ProvisionerError):
    """A Terraform command failed; carries its diagnostics."""

    def __init__(self, command: str, workdir: str, diagnostics: list[Diagnostic],
                 output: str = "", retcode: int | None = None) -> None:
        errors = [d for d in diagnostics if d.severity == "error"] or diagnostics
        lines = [f"terraform {command} failed{_where(workdir)} (exit {retcode})"]
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
