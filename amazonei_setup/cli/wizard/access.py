"""The access questions: how the instance is reached (SSM, or SSH with a new, an existing or
an imported key), the key pair or public key file that follows, and who may connect."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from amazonei_setup.cli.wizard.choices import (
    ACCESS_CHOICES,
    DEFAULT_ACCESS,
    PUBLIC_KEY_CANDIDATES,
    access_choice,
)
from amazonei_setup.cli.wizard.keys import read_public_key
from amazonei_setup.cli.wizard.prompts import Answer, Option
from amazonei_setup.cli.wizard.questions import Checked, Field, Line, Menu, Question, State

MODE = ("access", "mode")
KEY_PAIR = ("access", "key_pair")
SSH_CIDR = ("access", "ssh_cidr")


def _not_ssm_only(state: State) -> bool:
    return not (state.sheet.fixed(MODE) and state.sheet.get(MODE) == "ssm")


def _show_access(state: State) -> Menu:
    keys = state.aws.key_pairs(state.region)
    mode_fixed = state.sheet.fixed(MODE)
    options = []
    for choice in ACCESS_CHOICES:
        if mode_fixed and choice.mode != "ssh":
            continue
        disabled = "you have none here" if choice.key == "ssh-existing" and not keys else None
        options.append(Option(choice.key, (choice.key, choice.label), disabled))
    note = "How you reach the instance. SSM needs no key and opens no port."
    return Menu("Access", tuple(options), DEFAULT_ACCESS, note)


def _record_access(state: State, answer: Answer) -> tuple[Line, ...]:
    sheet = state.sheet
    chosen = access_choice(answer.value)
    sheet.access = chosen.key
    if not sheet.fixed(MODE):
        sheet.take(MODE, Answer(chosen.mode, answer.typed))
    if chosen.key == "ssh-new":
        sheet.take(KEY_PAIR, Answer("create", answer.typed))
    return ()


def _show_key_pair(state: State) -> Menu:
    keys = state.aws.key_pairs(state.region)
    options = tuple(Option(k["name"], (k["name"], k["id"])) for k in keys)
    return Menu("", options, keys[0]["name"])


def _record_key_pair(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.take(KEY_PAIR, answer)
    return ()


def _show_public_key(state: State) -> Field:
    default = next((c for c in PUBLIC_KEY_CANDIDATES if Path(c).expanduser().is_file()), None)
    said = "The key is imported (and tagged for teardown) only after you confirm the plan."
    return Field("", default, before=(Line(said, "dim"),))


def _check_public_key(state: State, text: str) -> Checked:
    try:
        return read_public_key(text), None
    except ValueError as exc:
        return None, str(exc)


def _record_public_key(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.key_file = answer.value
    return ()


def _uses_ssh(state: State) -> bool:
    return (state.sheet.get(MODE) or "ssh") == "ssh"


def _show_ssh_cidr(state: State) -> Field:
    mine, unknown = state.aws.my_cidr(state.region)
    before = (
        ()
        if unknown is None
        else (Line(f"Your public IP address is unknown ({unknown}).", "yellow"),)
    )
    note = "Who may connect on port 22: your address only, unless you say otherwise."
    return Field("SSH source", mine, note, before)


def _check_ssh_cidr(state: State, text: str) -> Checked:
    if text in (state.aws.my_cidr(state.region)[0], "auto"):
        return "auto", None
    problem = state.sheet.problem(SSH_CIDR, text, state.catalog)
    if problem:
        return text, problem
    return str(ipaddress.ip_network(text, strict=False)), None


def _record_ssh_cidr(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.take(SSH_CIDR, answer, "your IP" if answer.value == "auto" else "")
    return ()


ACCESS = Question(
    "access",
    "Access",
    (MODE, KEY_PAIR),
    _show_access,
    _record_access,
    applies=_not_ssm_only,
    skip_when_fixed=(KEY_PAIR,),
)
EXISTING_KEY = Question(
    "key_pair",
    "Key pair",
    (KEY_PAIR,),
    _show_key_pair,
    _record_key_pair,
    applies=lambda state: state.sheet.access == "ssh-existing",
)
PUBLIC_KEY = Question(
    "public_key",
    "Public key file",
    (KEY_PAIR,),
    _show_public_key,
    _record_public_key,
    validate=_check_public_key,
    applies=lambda state: state.sheet.access == "ssh-import",
)
SSH_SOURCE = Question(
    "ssh_cidr",
    "SSH allowed from",
    (SSH_CIDR,),
    _show_ssh_cidr,
    _record_ssh_cidr,
    validate=_check_ssh_cidr,
    applies=_uses_ssh,
)
