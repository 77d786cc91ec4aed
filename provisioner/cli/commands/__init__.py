"""Every command of ``provisioner``, in the order ``--help`` lists them. The group in ``cli.app``
adds each from ``COMMANDS``; no command module imports the group."""

from __future__ import annotations

import click

from provisioner.cli.commands import (
    data,
    fleet,
    inventory,
    lifecycle,
    lifetime,
    local,
    ops,
    pr,
    preview,
    shell,
    sweep,
    verify,
)

COMMANDS: tuple[click.Command, ...] = (
    lifecycle.spinup, lifecycle.teardown,
    preview.render, preview.diff,
    inventory.list_cmd, inventory.status,
    verify.health, verify.test_cmd, verify.drift,
    lifetime.extend, lifetime.keep, lifetime.audit,
    fleet.cleanup, sweep.sweep,
    data.data_group,
    pr.pr_event,
    ops.doctor, ops.board, ops.bootstrap,
    local.emulator, local.mirror,
    shell.completion,
)
