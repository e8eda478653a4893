"""The wizard's question objects and answer sheet on their own: no terminal, no AWS (the
lookups are plain data), so each rule is checked where it lives."""

from __future__ import annotations

import dataclasses

import pytest
from wizard_fakes import DEFAULT_VPC, FakeAws, inputs, state

from amazonei_setup.cli.wizard import access, hardware, labels, network
from amazonei_setup.cli.wizard.choices import family
from amazonei_setup.cli.wizard.prompts import Answer
from amazonei_setup.cli.wizard.provenance import Origin
from amazonei_setup.cli.wizard.questions import Field, Menu, Revisit, Settled
from amazonei_setup.cli.wizard.sheet import Sheet
from amazonei_setup.errors import InputError

# ---------------------------------------------------------------------------------------------
# The sheet: values and where they came from


def test_sheet_reads_answers_over_flags_over_the_file_and_says_where_each_came_from():
    sheet = Sheet(
        inputs({"region": "us-west-2"}, document={"os": "ubuntu", "instance_type": "m5.large"})
    )
    assert sheet.get(("region",)) == "us-west-2" and sheet.origin(("region",)) == Origin(
        "flag", "--region"
    )
    assert sheet.get(("os",)) == "ubuntu"
    assert sheet.origin(("os",)) == Origin("profile", "p.yaml:1")
    assert sheet.origin(("seats",)) == Origin("default")
    assert sheet.fixed(("os",)) and not sheet.fixed(("name",))

    sheet.take(("name",), Answer("typed-name", typed=True))
    sheet.take(("network", "subnet"), Answer("auto", typed=False))
    assert sheet.origin(("name",)) == Origin("answer")
    assert sheet.origin(("network", "subnet")) == Origin("default")
    assert str(Origin("default", "your IP")) == "default (your IP)"
    # The document is the file, the answers, and the flags on top.
    assert sheet.document() == {
        "os": "ubuntu",
        "instance_type": "m5.large",
        "name": "typed-name",
        "network": {"subnet": "auto"},
        "region": "us-west-2",
    }


def test_a_flag_beats_an_answer_for_the_same_field():
    sheet = Sheet(inputs({"region": "us-west-2"}))
    sheet.set(("region",), "eu-west-1", Origin("answer"))
    assert sheet.origin(("region",)) == Origin("flag", "--region")
    assert sheet.document()["region"] == "us-west-2"


def test_a_copied_sheet_is_independent_so_going_back_restores_it():
    sheet = Sheet(inputs({"region": "us-west-2"}))
    sheet.take(("network", "vpc"), Answer("default", typed=False))
    before = sheet.copy()
    sheet.take(("network", "subnet"), Answer("subnet-1", typed=True))
    sheet.family = family("cpu")
    assert before.get(("network", "subnet")) is None and before.family is None
    assert ("network", "subnet") not in before.origins
    assert before.get(("network", "vpc")) == "default"


def test_sheet_problem_judges_one_value_against_the_profile_rules(tmp_path):
    st = state(tmp_path)
    assert st.sheet.problem(("name",), "fine-name", st.catalog) is None
    assert "'Bad_Name' is not a deployment name" in str(
        st.sheet.problem(("name",), "Bad_Name", st.catalog)
    )


# ---------------------------------------------------------------------------------------------
# When a question is asked


def test_a_question_fixed_by_a_flag_or_the_file_is_not_wanted(tmp_path):
    st = state(tmp_path, inputs({"region": "us-west-2", "instance_type": "g4dn.xlarge"}))
    assert not hardware.FAMILY.wanted(st) and not hardware.SIZE.wanted(st)
    assert not hardware.REGION.wanted(st) and hardware.ACCOUNT.wanted(st)
    # Fixing the subnet skips the VPC question too.
    st = state(tmp_path, inputs({"region": "us-west-2", "network.subnet": "subnet-1"}))
    assert not network.VPC.wanted(st) and not network.SUBNET.wanted(st)


def test_access_follow_ups_apply_only_to_their_choice(tmp_path):
    st = state(tmp_path, aws=FakeAws(keys=[{"name": "alice", "id": "key-1"}]))
    access.ACCESS.record(st, Answer("ssh-existing", typed=True))
    assert access.EXISTING_KEY.wanted(st) and not access.PUBLIC_KEY.wanted(st)
    assert st.sheet.get(("access", "mode")) == "ssh"
    st.sheet.access = "ssh-import"
    assert access.PUBLIC_KEY.wanted(st) and not access.EXISTING_KEY.wanted(st)

    ssm = state(tmp_path, inputs({"region": "us-west-2", "access.mode": "ssm"}))
    assert not access.ACCESS.wanted(ssm) and not access.SSH_SOURCE.wanted(ssm)
    st.sheet.take(("access", "mode"), Answer("ssm", typed=True))
    assert not access.SSH_SOURCE.wanted(st)


def test_gpu_hosts_take_no_accelerator_question(tmp_path):
    st = state(tmp_path)
    st.sheet.take(("instance_type",), Answer("g4dn.xlarge", typed=True))
    assert not hardware.ACCELERATOR.wanted(st)
    st.sheet.take(("instance_type",), Answer("m5.large", typed=True))
    assert hardware.ACCELERATOR.wanted(st)
    hardware.FAMILY.record(st, Answer("cpu", typed=True))
    assert not hardware.ACCELERATOR.wanted(st)  # CPU only was the answer


# ---------------------------------------------------------------------------------------------
# What each question shows, validates and records


def test_family_menu_marks_unoffered_families_and_cpu_records_no_accelerator(tmp_path):
    st = state(tmp_path)
    menu = hardware.FAMILY.show(st)
    assert isinstance(menu, Menu)
    assert [o.value for o in menu.options] == ["eia", "inferentia", "nvidia", "cpu"]
    assert menu.default == "nvidia"
    hardware.FAMILY.record(st, Answer("cpu", typed=True))
    assert st.sheet.family == family("cpu")
    assert st.sheet.get(("accelerator",)) == "none"
    assert st.sheet.origin(("accelerator",)) == Origin("answer", "CPU only")

    no_ei = state(tmp_path, aws=FakeAws(ei=None))
    menu = hardware.FAMILY.show(no_ei)
    assert isinstance(menu, Menu) and "eia" not in [o.value for o in menu.options]
    assert "Elastic Inference is not offered in us-west-2" in menu.note


def test_size_menu_disables_types_the_region_does_not_offer(tmp_path):
    st = state(tmp_path)
    st.sheet.family = family("nvidia")
    menu = hardware.SIZE.show(st)
    assert isinstance(menu, Menu) and menu.default == "g4dn.xlarge"
    p3 = next(o for o in menu.options if o.value == "p3.2xlarge")
    assert p3.disabled == "not offered in us-west-2"


def test_accelerator_settles_itself_where_there_is_no_elastic_inference(tmp_path):
    st = state(tmp_path, aws=FakeAws(ei=None))
    st.sheet.take(("instance_type",), Answer("m5.large", typed=True))
    shown = hardware.ACCELERATOR.show(st)
    assert isinstance(shown, Settled)
    assert "m5.large runs without an accelerator" in shown.lines[0].text
    shown.then(st.sheet)
    assert st.sheet.get(("accelerator",)) == "none"
    assert st.sheet.origin(("accelerator",)) == Origin("default", "no EI in us-west-2")


def test_subnet_menu_lists_usable_subnets_and_why_others_are_hidden(tmp_path):
    aws = FakeAws(ei=["us-west-2a", "us-west-2b"])
    st = state(tmp_path, aws=aws)
    st.sheet.take(("instance_type",), Answer("m5.large", typed=True))
    st.sheet.vpc_id = DEFAULT_VPC.id
    menu = network.SUBNET.show(st)
    assert isinstance(menu, Menu)
    assert [o.value for o in menu.options] == ["auto", "subnet-default-a", "subnet-default-b"]
    assert menu.note == (
        "Only AZs that offer m5.large and the Elastic Inference endpoint. 1 subnet(s) hidden: "
        "us-west-2c has no Elastic Inference endpoint"
    )


def test_a_vpc_without_usable_subnets_sends_the_person_back_to_the_vpc(tmp_path):
    aws = FakeAws(subnets_of={"vpc-default": [], "vpc-other": []})
    st = state(tmp_path, aws=aws)
    st.sheet.take(("instance_type",), Answer("g4dn.xlarge", typed=True))
    with pytest.raises(Revisit) as revisit:
        network.SUBNET.show(st)
    assert revisit.value.key == "vpc"
    assert revisit.value.problem == (
        "no subnet of vpc-default can run g4dn.xlarge: the VPC has no subnets; choose another VPC"
    )
    fixed = state(tmp_path, inputs({"region": "us-west-2", "network.vpc": "default"}), aws)
    fixed.sheet.take(("instance_type",), Answer("g4dn.xlarge", typed=True))
    with pytest.raises(InputError, match=r"no subnet of vpc-default can run g4dn\.xlarge"):
        network.SUBNET.show(fixed)


def test_vpc_answer_records_default_for_the_default_vpc_and_the_id_otherwise(tmp_path):
    st = state(tmp_path)
    network.VPC.record(st, Answer(DEFAULT_VPC.id, typed=False))
    assert st.sheet.get(("network", "vpc")) == "default" and st.sheet.vpc_id == DEFAULT_VPC.id
    network.VPC.record(st, Answer("vpc-other", typed=True))
    assert st.sheet.get(("network", "vpc")) == "vpc-other"


def test_ssh_source_validates_cidrs_and_takes_your_ip_as_auto(tmp_path):
    st = state(tmp_path)
    field = access.SSH_SOURCE.show(st)
    assert isinstance(field, Field) and field.default == "198.51.100.7/32"
    assert access.SSH_SOURCE.validate(st, "198.51.100.7/32") == ("auto", None)
    assert access.SSH_SOURCE.validate(st, "203.0.113.9") == ("203.0.113.9/32", None)
    _, problem = access.SSH_SOURCE.validate(st, "10.0.0.0/33")
    assert "'10.0.0.0/33' is not a CIDR block" in str(problem)
    access.SSH_SOURCE.record(st, Answer("auto", typed=False))
    assert st.sheet.origin(("access", "ssh_cidr")) == Origin("default", "your IP")

    unknown = state(tmp_path, aws=FakeAws(ip=None))
    field = access.SSH_SOURCE.show(unknown)
    assert isinstance(field, Field) and field.default is None
    assert field.before[0].text == "Your public IP address is unknown (no network)."


def test_name_default_skips_recorded_names_and_warns_on_resume(tmp_path):
    st = state(tmp_path, aws=FakeAws(names_recorded={"g4dn-demo", "g4dn-demo-2"}))
    st.sheet.take(("instance_type",), Answer("g4dn.xlarge", typed=True))
    st.sheet.family = family("nvidia")
    field = labels.NAME.show(st)
    assert isinstance(field, Field) and field.default == "g4dn-demo-3"
    assert labels.NAME.validate(st, "Bad_Name")[1] is not None
    [line] = labels.NAME.record(st, Answer("g4dn-demo", typed=True))
    assert line.text.startswith("'g4dn-demo' exists in us-west-2: launching resumes it")


def test_tags_parse_key_value_pairs_and_explain_bad_ones(tmp_path):
    st = state(tmp_path)
    assert labels.TAGS.validate(st, "team=ml, owner=me") == ({"team": "ml", "owner": "me"}, None)
    assert labels.TAGS.validate(st, "none") == ({}, None)
    assert labels.TAGS.validate(st, "novalue")[1] == "'novalue' is not KEY=VALUE (e.g. team=ml)"
    labels.TAGS.record(st, Answer({}, typed=False))
    assert st.sheet.get(("tags",)) is None  # no tags: nothing written


def test_the_account_line_names_the_sandbox_endpoint(tmp_path):
    st = state(tmp_path)
    shown = hardware.ACCOUNT.show(st)
    assert isinstance(shown, Settled)
    assert [line.text for line in shown.lines] == [
        "Account 123456789012 as arn:aws:iam::123456789012:user/me, region us-west-2."
    ]
    st.ctx = dataclasses.replace(st.ctx, sandbox=True)
    shown = hardware.ACCOUNT.show(st)
    assert isinstance(shown, Settled)
    assert shown.lines[0].text.endswith("region us-west-2 (sandbox http://127.0.0.1:4566).")
