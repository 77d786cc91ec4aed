"""The data tier's one door to the package's AWS client factory.

Everything in provisioner.data that talks to AWS imports `Aws` and `error_code` from here, so the
package restructure (which moves `provisioner/aws.py` into a subpackage) changes one line.
"""

from __future__ import annotations

from ..aws import Aws, error_code

__all__ = ["Aws", "error_code"]
