"""One base for every shopassist error, in two branches that say whose fault it is.

``UserError``: what the person running a command can fix in what they typed or handed in
(a bad config key, an unknown model version, a source row, a suite file). ``OperatorError``:
what whoever runs the installation has to fix (a server that is down, a package or model that
is not installed, a network that blocks the share link). The CLI turns either into one line and
an exit code (``EXIT_CODE``); code that knows better catches the specific class.

Every package may import this module (docs/ARCHITECTURE.md). The domain classes keep a builtin
base too (``ConfigError`` is still a ``ValueError``), so existing ``except ValueError`` keep working.

>>> class Down(OperatorError, RuntimeError):
...     '''A server is down.'''
>>> isinstance(Down("x"), ShopassistError), exit_code(Down("x")), exit_code(UserError("y"))
(True, 3, 2)
"""

from __future__ import annotations


class ShopassistError(Exception):
    """Base of every error shopassist raises on purpose; neither branch = a bug of ours."""


class UserError(ShopassistError):
    """The user's to fix (their input, config or data); printed as one line, exit code 2."""


class OperatorError(ShopassistError):
    """The operator's to fix (a service, an install, the network); printed as one line, exit code 3."""


EXIT_USER, EXIT_OPERATOR = 2, 3


def exit_code(error: ShopassistError) -> int:
    """The CLI's exit code for an error: 2 for the user's, 3 for the operator's, 1 otherwise.

    >>> exit_code(UserError("bad key")), exit_code(OperatorError("down")), exit_code(ShopassistError("bug"))
    (2, 3, 1)
    """
    if isinstance(error, UserError):
        return EXIT_USER
    if isinstance(error, OperatorError):
        return EXIT_OPERATOR
    return 1


def one_line(error: BaseException) -> str:
    """The error's message on one line (a KeyError's quotes and inner newlines removed).

    >>> one_line(KeyError("no conversation 'c1'"))
    "no conversation 'c1'"
    >>> one_line(UserError("first\\n  second"))
    'first second'
    """
    text = str(error.args[0]) if len(error.args) == 1 else str(error)
    return " ".join(text.split()) or type(error).__name__
