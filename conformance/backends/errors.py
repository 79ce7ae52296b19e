"""The one error an adapter raises about itself: its framework cannot be used here (not
installed, a system component missing, already imported in another configuration). Its own
module, so that an adapter raising it imports nothing of the suite's runner or of the oracle."""


class BackendError(Exception):
    """A SPEC that names no usable backend. Its message says what to do instead."""
