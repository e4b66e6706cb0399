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
        """Set published (constant) parameters, in one batch of events.

        Only the parameters being set are unlocked, and only for the update. ``param.edit_constant`` unlocks
        every parameter of the class through param's attribute hooks, which costs about 0.5 ms per call on a
        page of 25 parameters: a tenth of a frame's server time at 20 frames a second. Here the ``constant``
        flag of each instance parameter is flipped directly; nothing reads it in between, and it is back to
        True, as param left it, when the update returns or fails."""
        unlocked = [self.param[name] for name in values]
        unlocked = [parameter for parameter in unlocked if parameter.constant]
        for parameter in unlocked:
            object.__setattr__(parameter, "constant", False)
        try:
            self.param.update(**values)
        finally:
            for parameter in unlocked:
                object.__setattr__(parameter, "constant", True)

    def run_action(self, action, *args, **kwargs):
        """Run a user's action; its failure is shown as ``error`` (and None returned) instead of raised, and
        leaves the rest of the page as it was. A ``ValueError`` is a problem with what the user asked and
        shows its message alone; anything else also names its type."""
        try:
            result = action(*args, **kwargs)
        except Exception as exc:
            text = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            self.publish(error=text, **self.failure_resets())
            return None
        if self.clears_error_on_success:
            self.publish(error="")
        return result

    clears_error_on_success = True  # False where the action publishes its own outcome (the Models page)

    def failure_resets(self) -> dict:
        """Published values a failed action resets besides ``error`` (none by default)."""
        return {}
