# PYTHON_ARGCOMPLETE_OK
"""`python -m amazonei_setup` is the same program as the `amazonei-setup` script."""

from amazonei_setup.cli.main import main

raise SystemExit(main())
