"""Shell completion as the shells ask for it: the installed `amazonei-setup` script run with
_ARGCOMPLETE, COMP_LINE and COMP_POINT set and its answer read from file descriptor 8 (what
argcomplete's bash/zsh function and fish's `register-python-argcomplete --shell fish` script
do), and once through the bash function itself. Deployment names come from the records' file
names in the state home; nothing reaches AWS (no credentials or endpoint are given)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import child_env

BIN = Path(sys.executable).parent
SCRIPT = BIN / "amazonei-setup"
COMMANDS = {"launch", "plan", "status", "verify", "connect", "teardown", "sweep", "estimate"}
# What each shell's integration sets: separator between candidates, between value and description.
SHELLS = {
    "bash": {"_ARGCOMPLETE_SHELL": "bash"},
    "zsh": {"_ARGCOMPLETE_SHELL": "zsh", "_ARGCOMPLETE_SUPPRESS_SPACE": "1"},
    "fish": {
        "_ARGCOMPLETE_SHELL": "fish",
        "_ARGCOMPLETE_IFS": "\n",
        "_ARGCOMPLETE_DFS": "\t",
        "_ARGCOMPLETE_SUPPRESS_SPACE": "1",
    },
}

pytestmark = pytest.mark.skipif(
    not SCRIPT.exists() or shutil.which("bash") is None,
    reason="needs the installed console script (pip install -e .) and bash",
)


@pytest.fixture
def home(tmp_path) -> Path:
    """A state home with two recorded deployments (only their file names matter here)."""
    home = tmp_path / "state home"
    for region, name in (("us-west-2", "eia-workshop"), ("eu-west-1", "gpu-demo")):
        folder = home / "deployments" / region
        folder.mkdir(parents=True)
        (folder / f"{name}.json").write_text("{}")
    return home


def complete(line: str, shell: str = "bash", cwd: Path | None = None, **env: str) -> list[str]:
    """The candidates for the cursor at the end of `line`, as the shell would read them."""
    variables = child_env(_ARGCOMPLETE="1", COMP_LINE=line, COMP_POINT=str(len(line)))
    variables.pop("AMAZONEI_SETUP_HOME", None)  # the person's own state home stays out of it
    variables.update({**SHELLS[shell], **env})
    done = subprocess.run(
        ["bash", "-c", '"$0" 8>&1 9>&2 1>/dev/null 2>&1 </dev/null', str(SCRIPT)],
        env=variables,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    separator = variables.get("_ARGCOMPLETE_IFS", "\013")
    words = [word.rstrip(" ") for word in done.stdout.split(separator) if word]  # bash: +" "
    if shell == "zsh":  # value:description
        words = [word.split(":", 1)[0] for word in words]
    if shell == "fish":  # value<TAB>description
        words = [word.split("\t", 1)[0] for word in words]
    return words


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_every_shell_gets_the_subcommands_and_recorded_deployment_names(home, shell):
    assert set(complete("amazonei-setup ", shell)) >= COMMANDS
    names = complete(f"amazonei-setup --home '{home}' connect ", shell)
    assert set(names) == {"eia-workshop", "gpu-demo"}


@pytest.mark.parametrize("command", ["status", "verify", "teardown", "connect"])
def test_deployment_names_complete_by_prefix_from_the_state_home_env(home, command):
    line = f"amazonei-setup {command} eia"
    assert complete(line, AMAZONEI_SETUP_HOME=str(home)) == ["eia-workshop"]


def test_flags_complete_after_a_dash(home):
    flags = complete("amazonei-setup connect --s", AMAZONEI_SETUP_HOME=str(home))
    assert {"--seat", "--sandbox"} <= set(flags)


def test_profile_file_completes_yaml_files_and_folders(tmp_path):
    (tmp_path / "demo.yaml").write_text("name: demo\n")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "profiles").mkdir()
    found = complete("amazonei-setup launch --profile-file ", cwd=tmp_path)
    assert "demo.yaml" in found and "profiles/" in found
    assert "notes.txt" not in found


def test_the_bash_function_argcomplete_installs_completes_names(home):
    """The README's bash line, then what bash does on Tab: fill COMP_* and call the function."""
    register = BIN / "register-python-argcomplete"
    script = f"""
        eval "$({register} amazonei-setup)"
        COMP_LINE="amazonei-setup --home '{home}' teardown g"
        COMP_POINT=${{#COMP_LINE}}
        COMP_WORDS=(amazonei-setup --home '{home}' teardown g)
        COMP_CWORD=4
        _python_argcomplete amazonei-setup
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    env = child_env(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["gpu-demo"]
