"""A Windows-like Python on Linux, for the test suite's simulated-Windows step (.ci/run).

Put this folder on PYTHONPATH (and set CONSOLIDATE_WINDOWS_SIM=1 so tests can tell): every
interpreter that starts with it, spawned children included (they inherit PYTHONPATH), loses
what Windows lacks:

- the POSIX-only modules ``resource`` and ``fcntl`` (importing them raises ImportError);
- ``os.fork`` and its relatives (``forkpty``, ``wait3``, ``wait4``, ``register_at_fork``);
- every multiprocessing start method but ``spawn``.

Redirected stdout in the ANSI code page is simulated with PYTHONIOENCODING=cp1258, set by the
caller. What is not simulated: sys.platform and the other POSIX functions (pytest itself needs
os.getuid off win32), file locking by Excel, path rules, the console itself, signals
(Ctrl+C arrives as SIGINT here, as a console event there).
"""

import multiprocessing
import multiprocessing.context
import os
import sys

for _name in ("resource", "fcntl"):
    sys.modules[_name] = None  # type: ignore[assignment]  # "import resource" now raises ImportError

for _name in ("fork", "forkpty", "wait3", "wait4", "register_at_fork"):
    if hasattr(os, _name):
        delattr(os, _name)

_default = multiprocessing.context._default_context
_real_get_context = multiprocessing.context.DefaultContext.get_context


def _get_context(method=None):
    if method not in (None, "spawn"):
        raise ValueError(f"cannot find context for {method!r}")
    return _real_get_context(_default, method)


def _get_all_start_methods():
    return ["spawn"]


_default.set_start_method("spawn", force=True)
for _target in (_default, multiprocessing):  # the module's functions are the default context's bound methods
    _target.get_context = _get_context
    _target.get_all_start_methods = _get_all_start_methods
