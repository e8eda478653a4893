"""The interactive wizard: questionary prompts and rich output over the same
profile → plan → apply as every other way in. It holds no AWS logic of its own.

- `questions`: what a question is (when it applies, what it shows, validate, record)
- `hardware`, `network`, `access`, `labels`: the questions themselves, by topic
- `choices`: the hardware families and access modes offered, as data
- `sheet`, `provenance`: the answers and where each value came from (default / profile /
  flag / answer)
- `prompts`: the questionary adapter (value or index, explained retries, < back, q to quit)
- `lookups`, `keys`: read-only AWS lookups for choices; the public-key import after confirmation
- `context`: what the wizard needs from the program around it
- `flow`: the walk over the questions, ending in a validated Profile (`result`)
"""

from amazonei_setup.cli.wizard.context import WizardContext
from amazonei_setup.cli.wizard.flow import run_wizard
from amazonei_setup.cli.wizard.prompts import Quit
from amazonei_setup.cli.wizard.result import KeyImport, WizardResult

__all__ = ["KeyImport", "Quit", "WizardContext", "WizardResult", "run_wizard"]
