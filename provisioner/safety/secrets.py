"""Sensitive variables: where their values come from and how they reach Terraform.

A sensitive variable (``sensitive = true`` in the root module, or listed in ``[secrets]``)
never lands in a rendered file, a log line, a PR comment or the registry: the render
refuses a baseline or override that sets one. Each ``[secrets]`` entry names a source,
read only when a command is about to run Terraform:

    env:NAME                 the runner's environment variable NAME
    ssm:/path/to/parameter   SSM Parameter Store (SecureString decrypted)
    secretsmanager:name      Secrets Manager (a name or an ARN; the string value)

The values go to Terraform as ``TF_VAR_<variable>`` in the engine's environment only
(the engine assigns os.environ just while it spawns Terraform), and ``redact`` scrubs
them from any error text before it is shown or stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from provisioner.aws.clients import Aws
from provisioner.aws.errors import error_code
from provisioner.errors import AwsError, BadInput

MASK = "(sensitive)"
# Shorter values are not scrubbed from text: replacing every "ab" would destroy messages.
MIN_REDACT_LENGTH = 4
_NOT_FOUND = ("ParameterNotFound", "ResourceNotFoundException", "ParameterVersionNotFound")


def _from_env(variable: str, name: str, environ: Mapping[str, str]) -> str:
    if name not in environ:
        raise BadInput(f"secret {variable}: the environment variable {name} is not set ([secrets] "
                       f"{variable} = \"env:{name}\")", variable=variable, source=f"env:{name}")
    return environ[name]


def _from_aws(variable: str, kind: str, ref: str, aws: Aws) -> str:
    try:
        if kind == "ssm":
            answer = aws.client("ssm").get_parameter(Name=ref, WithDecryption=True)
            return str(answer["Parameter"]["Value"])
        answer = aws.client("secretsmanager").get_secret_value(SecretId=ref)
    except Exception as exc:
        code = error_code(exc)
        if code in _NOT_FOUND:
            raise BadInput(f"secret {variable}: {kind}:{ref} does not exist ({code})",
                           variable=variable, source=f"{kind}:{ref}") from None
        raise AwsError(f"secret {variable}: cannot read {kind}:{ref}: {code or type(exc).__name__}",
                       variable=variable, source=f"{kind}:{ref}") from None
    if "SecretString" in answer:
        return str(answer["SecretString"])
    try:
        return bytes(answer["SecretBinary"]).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        raise BadInput(f"secret {variable}: secretsmanager:{ref} holds no text value",
                       variable=variable) from None


def read(variable: str, source: str, aws: Aws, environ: Mapping[str, str]) -> str:
    """The value of one secret; refuses a missing or empty one (BadInput, exit 2)."""
    kind, _, ref = source.partition(":")
    value = _from_env(variable, ref, environ) if kind == "env" else _from_aws(variable, kind, ref, aws)
    if value == "" or "\0" in value:
        raise BadInput(f"secret {variable}: {source} is {'empty' if value == '' else 'not text'}",
                       variable=variable, source=source)
    return value


def resolve(sources: Mapping[str, str], aws: Aws, environ: Mapping[str, str]) -> dict[str, str]:
    """variable -> value for every configured secret."""
    return {variable: read(variable, source, aws, environ) for variable, source in sorted(sources.items())}


def terraform_env(values: Mapping[str, str]) -> dict[str, str]:
    """``TF_VAR_<variable>`` for each secret value: how Terraform receives it."""
    return {f"TF_VAR_{variable}": value for variable, value in values.items()}


def redact(text: str, values: Iterable[str]) -> str:
    """``text`` with every secret value (longest first) replaced by ``(sensitive)``."""
    for value in sorted(set(values), key=len, reverse=True):
        if len(value) >= MIN_REDACT_LENGTH:
            text = text.replace(value, MASK)
    return text
