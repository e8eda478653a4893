"""The interactive wizard: questionary prompts and rich output over the same
profile → plan → apply as every other way in. It holds no AWS logic of its own.

- `questions`: the ordered questions and the hardware families, as data
- `prompts`: the questionary adapter (value or index, explained retries, q to quit)
- `provenance`: where each value came from (default / profile / flag / answer)
- `lookups`, `keys`: read-only lookups for choices; the public-key import after confirmation
- `flow`: the walk over the questions, ending in a validated Profile
"""

from amazonei_setup.wizard.flow import KeyImport, WizardResult, run_wizard
from amazonei_setup.wizard.prompts import Quit

__all__ = ["KeyImport", "Quit", "WizardResult", "run_wizard"]
