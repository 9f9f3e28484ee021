"""Start-up hook (run from ``harness_ext_autoload.pth``): make lm-eval find our tasks.

It only registers a tiny import finder; nothing happens until a program imports
``lm_eval.tasks``, whose ``TaskManager`` is then taught to include this package's task folder.
Set ``HARNESS_EXT_AUTOLOAD=0`` to switch it off (``--include_path "$(harness-ext tasks-path)"``
then still works).
"""

import os
import sys

_TARGET = "lm_eval.tasks"


def enabled() -> bool:
    return os.environ.get("HARNESS_EXT_AUTOLOAD", "1").strip().lower() not in ("0", "false", "no", "off")


class _Finder:
    """Meta-path finder that wraps the loading of ``lm_eval.tasks`` and then steps aside."""

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name != _TARGET:
            return None
        import importlib.machinery

        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):  # type: ignore[no-untyped-def]
            original(module)
            if enabled():
                from harness_ext.discovery import patch_task_manager

                patch_task_manager(module.TaskManager)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install() -> None:
    if enabled() and _TARGET not in sys.modules and not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()
