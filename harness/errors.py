"""User-facing errors: one clear message, exit code 2, no traceback."""


class HarnessError(Exception):
    """A user mistake (bad recipe, missing file, unknown name).

    The CLI prints ``str(error)`` and exits with code 2. The message names the place
    (file, dotted path, line) and the fix.
    """

    exit_code = 2
