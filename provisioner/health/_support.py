"""The one place the health package reaches into the package's support layer.

Health may import only ``errors``, ``aws`` and templating from the rest of the package (so it
stays a self-contained layer). The templating module moves to ``provisioner.support.templating``
in the restructure; only this import changes then.
"""

from __future__ import annotations

from ..templating import render_template, sandbox

__all__ = ["render_template", "sandbox"]
