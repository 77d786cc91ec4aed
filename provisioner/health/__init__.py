"""Stacks you can trust: health checks, the team's tests, drift, and the nightly audit report.

A self-contained layer: it imports only ``errors``, ``aws`` and templating from the rest of the
package. Use cases build its inputs (a ``StackContext`` from the registry record, an ``Aws``
factory, a refresh-only plan from the engine) and call the functions re-exported here.
"""
