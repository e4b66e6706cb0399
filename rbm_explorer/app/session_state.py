"""The base of the pages' per-session state objects: read-only published parameters and guarded actions.

A page's state publishes what its views show as ``constant`` parameters: a view can read and watch them but
never set them, and the state changes them only through ``publish``. A user's action goes through
``run_action``, so that a failure becomes the page's ``error`` message instead of breaking the session.
"""

from __future__ import annotations

import param


class SessionState(param.Parameterized):
    """Per-session state of one page (subclassed by each page)."""

    error = param.String(default="", constant=True, doc="The last action's failure, in words; empty when it worked")

    def publish(self, **values) -> None:
        """Set published (constant) parameters, in one batch of events."""
        with param.edit_constant(self):
            self.param.update(**values)

    def run_action(self, action, *args, **kwargs):
        """Run a user's action; its failure is shown as ``error`` (and None returned) instead of raised."""
        try:
            result = action(*args, **kwargs)
        except Exception as exc:
            self.publish(error=f"{type(exc).__name__}: {exc}")
            return None
        self.publish(error="")
        return result
