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


def test_seats_true_is_not_one_seat(run_cli, tmp_path):
    path = tmp_path / "seats.yaml"
    path.write_text(BASE + "seats: true\n")
    assert "seats" in refused(run_cli, path)


def test_more_tags_than_aws_takes_are_refused_before_anything_exists(run_cli, tmp_path, recorder):
    path = tmp_path / "tags.yaml"
    path.write_text(BASE + "tags:\n" + "".join(f"  k{i}: v\n" for i in range(44)))
    assert "44 tags are too many" in refused(run_cli, path) and "at most 43" in refused(
        run_cli, path
    )
    assert recorder.calls == []


@pytest.mark.parametrize("latency", ["inf", "nan", "-1"])
def test_a_latency_that_is_not_a_number_of_milliseconds_is_refused(run_cli, latency):
    result = run_cli("estimate", "--instance-type", "m5.large", f"--latency-ms={latency}")
    assert result.code == 2, result.err
    assert "positive, finite number of milliseconds" in result.err and "$inf" not in result.out


def test_a_planted_link_in_place_of_a_lock_file_is_never_followed(aws, run_cli, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    locks = run_cli.home / "locks"
    locks.mkdir(parents=True)
    (locks / "us-west-2--demo.lock").symlink_to(victim)
    flags = ("--instance-type", "m5.large", "--accelerator", "none", "--yes", "--no-wait")
    result = run_cli("launch", "--name", "demo", "--region", "us-west-2", *flags)
    assert result.code == 2, result.err
    assert "cannot be opened" in result.err and victim.read_text() == "precious"
