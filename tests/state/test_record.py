"""The typed, versioned deployment record: records written before it (schema 1, the untyped
dict of 34e039e, captured from a real 2-seat sandbox launch in data/record-v1.json) are read,
migrated and used; damaged records are named, not crashed on; one edit locks and loads once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amazonei_setup.errors import InputError
from amazonei_setup.state.ledger import Ledger
from amazonei_setup.state.record import SCHEMA_VERSION, parse_record

V1 = Path(__file__).parent / "data" / "record-v1.json"


def v1_document(home: Path) -> dict:
    return json.loads(V1.read_text().replace("HOME", str(home)))


def test_a_schema_1_record_migrates_with_every_fact_kept(tmp_path):
    document = v1_document(tmp_path)
    record = parse_record(document)
    assert record.schema_version == SCHEMA_VERSION == 2
    assert (record.name, record.region, record.status) == ("eia-workshop", "us-west-2", "ready")
    assert set(record.resources) == set(document["resources"])
    assert record.resources["key_pair:2"].private_key == str(
        tmp_path / "keys/us-west-2/amazonei-setup-eia-workshop.seat2.pem"
    )
    assert record.resources["endpoint"].shared is True
    assert [i.seat for i in record.instances] == [1, 2]
    assert record.instances[0].connect == document["instances"][0]["connect"]
    assert record.expires_at == document["expires_at"] and record.has_expiry_field
    saved = record.to_document()
    assert saved["schema_version"] == 2
    assert parse_record(saved) == record  # the migrated form reads back the same


def test_a_record_from_before_ttl_keeps_its_expiry_unknown_not_none(tmp_path):
    document = v1_document(tmp_path)
    del document["expires_at"]
    record = parse_record(document)
    assert not record.has_expiry_field  # the tags decide (expiry.deployment_expiry)
    assert "expires_at" not in record.to_document()
    record.expires_at = None  # a launch that sets "no ttl" says so from then on
    assert record.to_document()["expires_at"] is None


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("", "Expecting value"),
        ('{"name": "x"', "Expecting"),
        ("[]", "expected a JSON object"),
        ("{}", "name: Field required"),
        ('{"name": null, "region": "us-west-2", "created_at": "t"}', "name: Input should be"),
        ('{"schema_version": 99, "name": "x"}', "newer than this tool"),
    ],
)
def test_a_damaged_record_is_named_with_its_fault_and_what_to_do(tmp_path, text, fault):
    ledger = Ledger(tmp_path)
    path = ledger.path("us-west-2", "broken")
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(InputError) as raised:
        ledger.load("us-west-2", "broken")
    assert str(path) in raised.value.message and fault in raised.value.message
    assert "teardown" in (raised.value.hint or "")


def test_an_edit_loads_once_saves_atomically_and_a_removed_record_stays_removed(tmp_path):
    ledger = Ledger(tmp_path)
    path = ledger.path("us-west-2", "eia-workshop")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(v1_document(tmp_path)))
    with ledger.edit("us-west-2", "eia-workshop", "a test") as edit:
        assert edit.record is not None
        edit.record.status = "tearing-down"
        edit.save()
        assert json.loads(path.read_text())["status"] == "tearing-down"
        assert path.stat().st_mode & 0o777 == 0o600
        busy = pytest.raises(InputError, match="busy: a test")  # one holder at a time
        with busy, ledger.edit("us-west-2", "eia-workshop", "another"):
            pass
        edit.remove()
    assert not path.exists()
    with ledger.edit("us-west-2", "eia-workshop", "a late verify") as late:
        assert late.record is None  # nothing to bring back
        late.save()
    assert not path.exists()


def test_status_and_teardown_work_from_a_schema_1_record(aws, run_cli):
    home = run_cli.home
    path = home / "deployments" / "us-west-2" / "eia-workshop.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(v1_document(home)))
    status = run_cli("status", "eia-workshop", "--output", "json")
    assert status.code == 0, status.err
    row = json.loads(status.out)["deployments"][0]
    assert (row["name"], row["seats"], row["expires_at"]) == (
        "eia-workshop",
        2,
        "2026-11-30T18:56:20Z",
    )
    assert row["resources"]["key_pair:2"]["kind"] == "key-pair"
    gone = run_cli("teardown", "eia-workshop", "--yes")
    assert gone.code == 0, gone.err
    assert not path.exists()


def test_a_damaged_record_spoils_nothing_else(aws, run_cli):
    deployments = run_cli.home / "deployments" / "us-west-2"
    deployments.mkdir(parents=True)
    (deployments / "eia-workshop.json").write_text(json.dumps(v1_document(run_cli.home)))
    (deployments / "broken.json").write_text('{"name": "broken"')  # truncated
    listed = run_cli("status", "--output", "json")
    assert listed.code == 0, listed.err
    assert [r["name"] for r in json.loads(listed.out)["deployments"]] == ["eia-workshop"]
    assert "broken.json is damaged" in " ".join(listed.err.split())
    named = run_cli("status", "broken")
    assert named.code == 2 and "broken.json is damaged" in " ".join(named.err.split())
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0  # the other one still goes


def test_a_stack_record_round_trips_and_a_direct_one_gains_no_keys(tmp_path):
    """engine and stack are optional schema-2 fields: present only for a CloudFormation
    deployment, so direct records (and schema-1 ones migrated) read and write as before."""
    direct = parse_record(v1_document(tmp_path))
    assert direct.engine is None and direct.stack is None
    assert "engine" not in direct.to_document() and "stack" not in direct.to_document()
    stacked = direct.model_copy(deep=True)
    stacked.engine = "cloudformation"
    stacked.stack = {"id": "arn:aws:cloudformation:us-west-2:1:stack/x/1", "name": "x"}
    again = parse_record(json.loads(json.dumps(stacked.to_document())))
    assert again.engine == "cloudformation" and again.stack.name == "x"
    assert again.stack.status == "unknown"
