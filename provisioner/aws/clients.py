"""The one place that builds AWS sessions and clients.

An ``Aws`` is handed its target settings and (for the local emulator) its
endpoint; nothing here is global or cached at class level, so tests point an
instance at the emulator they started. Throttling and 5xx answers are retried
by botocore's own retry modes; attempts and mode come from ``retry.AwsRetry``
(``[retry] aws_attempts`` / ``aws_mode``), the one place retry policies are defined.

Clients are botocore's own (what boto3's ``Session.client`` returns too), built from a botocore
session with ``aws.models``' loader: boto3 adds resources and S3 transfer helpers the tool does not
use, and importing it, its session and the first DynamoDB call cost ~60 ms more than botocore alone,
a fifth of a command like ``list``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from provisioner.aws.errors import must
from provisioner.config.retry import AwsRetry, aws_retry_config
from provisioner.errors import AwsError

# Every service the example stack and the tool itself touch; the local target
# points all of them at the emulator (both for boto3 and for Terraform).
SERVICES = (
    "s3", "dynamodb", "ec2", "iam", "sts", "sqs", "sns", "ssm", "secretsmanager", "cloudwatch",
    "cloudwatchlogs", "elb", "elbv2", "ecs", "rds", "route53", "kms", "autoscaling",
    "resourcegroupstaggingapi",
)
# The emulator is on loopback: connecting takes microseconds or is refused, so a short connect
# timeout and one retry of a refused connection find a dead one in about a second instead of minutes
# of backoff. The read timeout stays long: a stalled (SIGSTOPped, swapping) emulator has accepted the
# connection and is waited for; throttling and 5xx answers keep the policy's attempts.
LOCAL_CONNECT_TIMEOUT = 1
LOCAL_REFUSED_ATTEMPTS = 2
LOCAL_CREDENTIALS = ("test", "test")   # access key id, secret access key


@dataclass
class Aws:
    region: str
    endpoint: str | None = None          # set for the local emulator
    profile: str | None = None
    role_arn: str | None = None
    retries: AwsRetry = field(default_factory=AwsRetry)
    _session: Any = field(default=None, repr=False)
    _account: str | None = field(default=None, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None

    def session(self) -> Any:
        """The botocore session: the emulator's credentials, or the profile's (or the default
        chain's), or those of ``role_arn`` assumed with them."""
        if self._session is None:
            session = _session(self.region, None if self.is_local else self.profile)
            if self.is_local:
                session.set_credentials(*LOCAL_CREDENTIALS)
            elif self.role_arn:
                session = _assume(session, self.region, self.role_arn)
            self._session = session
        return self._session

    def client(self, service: str) -> Any:
        """One client per service per instance: building one loads the service model (~25 ms), and
        low-level clients are thread-safe (sessions are not, hence the lock around building)."""
        with self._lock:
            if service not in self._clients:
                from botocore.config import Config

                retries: Any = aws_retry_config(self.retries)  # botocore's _RetryDict, built in config/
                cfg = Config(retries=retries, connect_timeout=LOCAL_CONNECT_TIMEOUT if self.is_local else 5,
                             read_timeout=60)
                kwargs: dict[str, Any] = {"config": cfg}
                if self.endpoint:
                    kwargs["endpoint_url"] = self.endpoint
                client = self.session().create_client(service, region_name=self.region, **kwargs)
                if self.is_local:
                    client.meta.events.register_first("needs-retry", _refused_is_final)
                self._clients[service] = client
            return self._clients[service]

    def terraform_env(self) -> dict[str, str]:
        """Credentials for Terraform's provider and backend, as environment variables."""
        if self.is_local:
            return {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                    "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        creds = self.session().get_credentials()
        if creds is None:
            raise AwsError("no AWS credentials found for the configured profile/role")
        frozen = creds.get_frozen_credentials()
        env = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
               "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        if frozen.token:
            env["AWS_SESSION_TOKEN"] = frozen.token
        return env

    def account_id(self) -> str:
        """The caller's account (STS), read once per instance."""
        if self._account is None:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account


def _refused_is_final(attempts: int = 0, caught_exception: BaseException | None = None,
                      **_kwargs: Any) -> None:
    """botocore ``needs-retry`` hook of loopback clients: a connection refused twice is final (the
    emulator is down), instead of the policy's attempts with exponential backoff."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    if isinstance(caught_exception, EndpointConnectionError | ConnectTimeoutError) \
            and attempts >= LOCAL_REFUSED_ATTEMPTS:
        raise caught_exception


def _session(region: str, profile: str | None) -> Any:
    from botocore.session import Session

    from provisioner.aws import models

    session = Session(profile=profile)
    session.set_config_variable("region", region)
    session.register_component("data_loader", models.loader(session.get_config_variable("data_path")))
    return session


def _assume(base: Any, region: str, role_arn: str) -> Any:
    sts = base.create_client("sts", region_name=region)
    creds = must(f"assume role {role_arn}", lambda: sts.assume_role(
        RoleArn=role_arn, RoleSessionName="staging-provisioner"), role_arn=role_arn)
    c = creds["Credentials"]
    session = _session(region, None)
    session.set_credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    return session
