"""One attempt of each kind of check: a probe takes the check, its rendered fields and the
environment, and returns an ``Outcome`` (or raises; the runner turns exceptions into failures).

AWS probes need no application: they ask the service APIs through the one client factory
(``provisioner.aws.Aws``) whether the stack's table, queue, bucket, alarms and services are in
the state a working stack has. Every probe is read-only.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.aws.clients import Aws
from provisioner.config.health import (
    AlarmsCheck,
    Check,
    DynamoTableCheck,
    EcsServiceCheck,
    HttpCheck,
    S3BucketCheck,
    SqsQueueCheck,
    TcpCheck,
)
from provisioner.health.model import Outcome

# The tag the provider's default_tags put on every resource of a stack (domain.tags.STACK).
STACK_TAG = "staging:stack"
MAX_BODY_BYTES = 64 * 1024
DETAIL_BODY_CHARS = 200


@dataclass(frozen=True)
class ProbeEnv:
    """What probes may use: the AWS factory (None where no AWS check is configured) and the slug."""

    slug: str
    aws: Aws | None = None

    def client(self, service: str) -> Any:
        if self.aws is None:
            raise RuntimeError(f"no AWS access was given for a {service} check")
        return self.aws.client(service)


Probe = Callable[[Any, Mapping[str, str], ProbeEnv], Outcome]


def _tls_error(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def probe_http(check: HttpCheck, fields: Mapping[str, str], env: ProbeEnv) -> Outcome:
    """GET the URL without following redirects (a redirect is a status like any other) and with
    certificate verification on: a staging URL with a bad certificate is a broken staging URL."""
    import httpx

    url = fields["url"]
    try:
        with httpx.Client(timeout=check.timeout, verify=True, follow_redirects=False) as client, \
                client.stream("GET", url) as response:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= MAX_BODY_BYTES:
                    break
            status = response.status_code
    except httpx.HTTPError as exc:
        tls = _tls_error(exc)
        why = f"TLS error: {tls.reason or tls}" if tls else f"{type(exc).__name__}: {exc}"
        return Outcome(False, f"GET {url}: {why}")
    text = body.decode("utf-8", "replace")
    if status != check.status:
        snippet = " ".join(text[:DETAIL_BODY_CHARS].split())
        return Outcome(False, f"GET {url}: HTTP {status}, expected {check.status}"
                              + (f": {snippet}" if snippet else ""))
    if check.body is not None and check.body not in text:
        return Outcome(False, f"GET {url}: HTTP {status} but the body does not contain {check.body!r}")
    return Outcome(True, f"GET {url}: HTTP {status}")


def split_address(address: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port); ValueError otherwise."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{address!r} is not host:port")
    return host.strip("[]"), int(port)


def probe_tcp(check: TcpCheck, fields: Mapping[str, str], env: ProbeEnv) -> Outcome:
    host, port = split_address(fields["address"])
    try:
        with socket.create_connection((host, port), timeout=check.timeout):
            return Outcome(True, f"connected to {host}:{port}")
    except OSError as exc:
        return Outcome(False, f"cannot connect to {host}:{port}: {exc.strerror or exc}")


def probe_dynamodb(check: DynamoTableCheck, fields: Mapping[str, str], env: ProbeEnv) -> Outcome:
    table = env.client("dynamodb").describe_table(TableName=fields["table"])["Table"]
    status = str(table.get("TableStatus", ""))
    return Outcome(status == "ACTIVE", f"table {fields['table']} is {status or 'of unknown status'}")


def probe_sqs(check: SqsQueueCheck, fields: Mapping[str, str], env: ProbeEnv) -> Outcome:
    attrs = env.client("sqs").get_queue_attributes(
        QueueUrl=fields["queue_url"], AttributeNames=["QueueArn", "ApproximateNumberOfMessages"])
    waiting = attrs.get("Attributes", {}).get("ApproximateNumberOfMessages", "?")
    return Outcome(True, f"queue reachable, {waiting} messages waiting")


def probe_s3(check: S3BucketCheck, fields: Mapping[str, str], env: ProbeEnv) -> Outcome:
    env.client("s3").head_bucket(Bucket=fields["bucket"])
    return Outcome(True, f"bucket {fields['bucket']} reachable")


def _tagged_alarm_names(env: ProbeEnv) -> list[str]:
    pages = env.client("resourcegroupstaggingapi").get_paginator("get_resources").paginate(
        TagFilters=[{"Key": STACK_TAG, "Values": [env.slug]}], ResourceTypeFilters=["cloudwatch:alarm"])
    arns = [m["ResourceARN"] for page in pages for m in page.get("ResourceTagMappingList", [])]
    return sorted({arn.split(":alarm:", 1)[1] for arn in arns if ":alarm:" in arn})


def _alarms(env: ProbeEnv, prefix: str | None) -> list[dict[str, Any]]:
    paginator = env.client("cloudwatch").get_paginator("describe_alarms")
    kinds = ("MetricAlarms", "CompositeAlarms")
    if prefix:
        pages = list(paginator.paginate(AlarmNamePrefix=prefix))
    else:
        names = _tagged_alarm_names(env)
        pages = [page for i in range(0, len(names), 100)
                 for page in paginator.paginate(AlarmNames=names[i:i + 100])]
    return [alarm for page in pages for kind in kinds for alarm in page.get(kind, [])]


def probe_alarms(check: AlarmsCheck, fields: Mapping[str, str], env: ProbeEnv) -> Outcome:
    """Alarms in ALARM fail the check; INSUFFICIENT_DATA does not (a fresh stack has no data)."""
    prefix = fields.get("prefix") or None
    alarms = _alarms(env, prefix)
    scope = f"named {prefix}*" if prefix else f"tagged {STACK_TAG}={env.slug}"
    firing = [a for a in alarms if a.get("StateValue") == "ALARM"]
    if firing:
        named = "; ".join(f"{a['AlarmName']}: {a.get('StateReason', '')}".strip() for a in firing[:5])
        return Outcome(False, f"{len(firing)} of {len(alarms)} alarms {scope} in ALARM: {named}")
    if not alarms:
        return Outcome(True, f"no alarms {scope}")
    return Outcome(True, f"{len(alarms)} alarms {scope}, none in ALARM")


def probe_ecs(check: EcsServiceCheck, fields: Mapping[str, str], env: ProbeEnv) -> Outcome:
    answer = env.client("ecs").describe_services(cluster=fields["cluster"], services=[fields["service"]])
    services = answer.get("services", [])
    if not services:
        reasons = ", ".join(f.get("reason", "?") for f in answer.get("failures", [])) or "not found"
        return Outcome(False, f"service {fields['service']} in {fields['cluster']}: {reasons}")
    svc = services[0]
    running, desired = int(svc.get("runningCount", 0)), int(svc.get("desiredCount", 0))
    status = svc.get("status", "")
    ok = status == "ACTIVE" and running == desired
    return Outcome(ok, f"service {fields['service']} {status}: {running} of {desired} tasks running")


PROBES: Mapping[type, Probe] = {
    HttpCheck: probe_http, TcpCheck: probe_tcp, DynamoTableCheck: probe_dynamodb,
    SqsQueueCheck: probe_sqs, S3BucketCheck: probe_s3, AlarmsCheck: probe_alarms,
    EcsServiceCheck: probe_ecs,
}
AWS_KINDS: tuple[type[Check], ...] = (DynamoTableCheck, SqsQueueCheck, S3BucketCheck, AlarmsCheck,
                                      EcsServiceCheck)
