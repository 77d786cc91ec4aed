"""The data tier's one door to the package's AWS client factory.

Everything in provisioner.data that talks to AWS imports `Aws` and `error_code` from here, so a
move of the package's AWS modules changes these lines only.
"""

from __future__ import annotations

from ..aws.clients import Aws
from ..aws.errors import error_code

__all__ = ["Aws", "error_code"]
