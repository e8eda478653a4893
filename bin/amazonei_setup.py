#!python
# PYTHON_ARGCOMPLETE_OK
"""amazonei_setup.py: the 2019 tool's command name, kept. The same program as amazonei-setup.

It is installed next to the other console scripts, and Python puts a script's own folder
first on sys.path, so `import amazonei_setup` in any script there would find this file and
hide the real package. When imported rather than run, this file therefore becomes the real
package (its __path__ points at the installed package folder) instead of shadowing it.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _package_folder():
    for entry in sys.path:
        root = os.path.abspath(entry or os.curdir)
        folder = os.path.join(root, "amazonei_setup")
        if root != _HERE and os.path.isfile(os.path.join(folder, "__init__.py")):
            return folder
    raise ImportError("the amazonei_setup package is not installed beside this script")


if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    from amazonei_setup.cli.main import main

    sys.exit(main())
else:
    __path__ = [_package_folder()]
    with open(os.path.join(__path__[0], "__init__.py"), encoding="utf-8") as _init:
        exec(compile(_init.read(), _init.name, "exec"))
