"""Profiles meant to exhaust the tool (issue 15 points 7 and 16) are refused at once, with
exit 2 and the reason: nothing hangs, nothing is read forever, nothing is guessed."""

from __future__ import annotations

import os

import pytest

BASE = "name: demo\nregion: us-west-2\ninstance_type: m5.large\n"


def refused(run_cli, path) -> str:
    result = run_cli("plan", "--profile-file", str(path))
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    return " ".join(result.err.split())


@pytest.mark.timeout(20)
def test_an_alias_bomb_in_tags_is_refused_before_it_expands(run_cli, tmp_path, recorder):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    bomb = BASE + "tags:\n" + "".join(f"  {line}\n" for line in lines)
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb)
    assert "more than 10000 values (an alias bomb?)" in refused(run_cli, path)
    assert recorder.calls == []


@pytest.mark.timeout(20)
def test_a_profile_larger_than_any_profile_is_refused_unread(run_cli, tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # 100 MB, sparse: nothing to read if refused first
    assert "is 104857600 bytes; a profile is at most 65536 bytes" in refused(run_cli, path)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_a_device_is_not_read_forever(run_cli, tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "profile.yaml"
        os.mkfifo(path)  # nobody writes: reading it would block for ever
    else:
        path = "/dev/zero"  # reading it never ends
    assert "is not a regular file" in refused(run_cli, path)


def test_nesting_too_deep_is_refused_not_a_recursion_error(run_cli, tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(BASE + "tags: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nests deeper than 32 levels" in refused(run_cli, path)


def test_a_key_given_twice_is_refused_not_silently_overwritten(run_cli, tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(BASE + "seats: 2\naccelerator: none\nseats: 20\n")
    assert "key 'seats' is given twice (lines 4 and 6); keep one" in refused(run_cli, path)


@pytest.mark.parametrize(
    "cidr", ["0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8", "::/1", "2000::/3", "::ffff:0.0.0.0/96"]
)
def test_ssh_from_a_slice_of_the_internet_is_refused_like_the_whole_of_it(
    run_cli, tmp_path, recorder, cidr
):
    result = run_cli(
        "plan", "--name", "demo", "--region", "us-west-2", "--instance-type", "m5.large",
        "--ssh-cidr", cidr,
    )  # fmt: skip
    assert result.code == 2, result.err
    flat = " ".join(result.err.split())
    assert "opens SSH to a large part of the internet" in flat  # cidr as normalised
    assert "allow_world_ssh" in flat and recorder.calls == []


@pytest.mark.parametrize("cidr", ["10.1.0.0/16", "203.0.113.7/32", "2001:db8::/48"])
def test_an_organisations_range_is_still_accepted(aws, run_cli, cidr):
    result = run_cli(
        "plan", "--name", "demo", "--region", "us-west-2", "--instance-type", "m5.large",
        "--ssh-cidr", cidr, "--output", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
