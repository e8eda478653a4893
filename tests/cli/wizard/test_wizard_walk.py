"""The walk over the questions with a scripted person: `<` goes back one question and forgets
what that question decided, settled questions are passed over, a Revisit asks the VPC again,
and Enter on a default says which value it took. No AWS: the lookups are plain data."""

from __future__ import annotations

import pytest
from wizard_fakes import FakeAws, asker, inputs, state, told

from amazonei_setup.aws.subnets import Subnet
from amazonei_setup.cli.wizard import access, hardware, network
from amazonei_setup.cli.wizard.flow import FIRST_QUESTION, walk
from amazonei_setup.cli.wizard.prompts import Quit
from amazonei_setup.cli.wizard.provenance import Origin

HARDWARE = (hardware.FAMILY, hardware.SIZE, hardware.ACCELERATOR, hardware.OS)


def test_back_asks_the_previous_question_again_and_forgets_its_answer(tmp_path):
    st = state(tmp_path)
    person, typist = asker(st, ["cpu", "<", "nvidia", "", ""])
    walk(st, person, HARDWARE)

    assert typist.prompts == [
        "Hardware family [nvidia]:",
        "Size [m5.large]:",
        "Hardware family [nvidia]:",
        "Size [g4dn.xlarge]:",
        "Operating system [amazon-linux]:",
    ]
    sheet = st.sheet
    assert sheet.family is not None and sheet.family.key == "nvidia"
    # CPU only had set accelerator: none; going back took that away with the answer.
    assert sheet.get(("accelerator",)) is None and ("accelerator",) not in sheet.origins
    assert sheet.get(("instance_type",)) == "g4dn.xlarge"
    assert sheet.origin(("instance_type",)) == Origin("default")


def test_back_then_elastic_inference_asks_for_the_accelerator(tmp_path):
    st = state(tmp_path)
    person, typist = asker(st, ["cpu", "<", "eia", "", "2", ""])
    walk(st, person, HARDWARE)
    assert typist.prompts[3:5] == ["Size [m5.large]:", "Accelerator [eia2.medium]:"]
    assert st.sheet.get(("accelerator",)) == "eia2.large"
    assert st.sheet.origin(("accelerator",)) == Origin("answer")


def test_back_at_the_first_question_says_there_is_none_before_it(tmp_path):
    st = state(tmp_path)
    person, typist = asker(st, ["<", "inferentia", ""])
    walk(st, person, HARDWARE[:2])
    assert typist.prompts == ["Hardware family [nvidia]:"] * 2 + ["Size [inf2.xlarge]:"]
    assert FIRST_QUESTION in told(st)
    assert st.sheet.get(("instance_type",)) == "inf2.xlarge"


def test_back_passes_over_settled_questions_and_says_them_again(tmp_path):
    st = state(tmp_path, inputs({}))  # the region is asked
    person, typist = asker(st, ["us-west-2", "<", "us-east-1", "cpu"])
    walk(st, person, (hardware.REGION, hardware.ACCOUNT, hardware.FAMILY))
    assert [p.split(" [")[0] for p in typist.prompts] == [
        "Region",
        "Hardware family",
        "Region",
        "Hardware family",
    ]
    said = told(st)
    assert "region us-west-2." in said and "region us-east-1." in said
    assert st.sheet.get(("region",)) == "us-east-1"
    assert st.sheet.origin(("region",)) == Origin("answer")


def test_back_from_a_follow_up_returns_to_its_question(tmp_path):
    st = state(tmp_path, aws=FakeAws(keys=[{"name": "alice", "id": "key-1"}]))
    person, typist = asker(st, ["ssh-existing", "<", "ssm"])
    walk(st, person, (access.ACCESS, access.EXISTING_KEY, access.SSH_SOURCE))
    assert [p.split(" [")[0] for p in typist.prompts] == ["Access", "Key pair", "Access"]
    assert st.sheet.get(("access", "mode")) == "ssm"
    assert st.sheet.get(("access", "key_pair")) is None and st.sheet.access == "ssm"


def test_a_vpc_without_usable_subnets_is_asked_again(tmp_path):
    zone = Subnet("subnet-x", "us-west-2z", "vpc-other", True, True)  # an AZ with no offers
    aws = FakeAws(
        subnets_of={"vpc-other": [zone], "vpc-default": FakeAws().subnets_of["vpc-default"]}
    )
    st = state(tmp_path, aws=aws)
    st.sheet.set(("instance_type",), "g4dn.xlarge", Origin("answer"))
    person, typist = asker(st, ["vpc-other", "", ""])
    walk(st, person, (network.VPC, network.SUBNET))
    assert [p.split(" [")[0] for p in typist.prompts] == ["VPC", "VPC", "Subnet"]
    assert (
        "no subnet of vpc-other can run g4dn.xlarge: us-west-2z does not offer g4dn.xlarge; "
        "choose another VPC" in told(st)
    )
    assert st.sheet.get(("network", "vpc")) == "default"


def test_an_accepted_default_is_said_back(tmp_path):
    st = state(tmp_path)
    person, _ = asker(st, ["nvidia", ""])
    walk(st, person, HARDWARE[:2])
    assert "→ g4dn.xlarge (default)" in told(st)
    assert "→ nvidia" not in told(st)  # typed, not taken by Enter


def test_quitting_mid_walk_raises_quit(tmp_path):
    st = state(tmp_path)
    person, _ = asker(st, ["cpu", "q"])
    with pytest.raises(Quit):
        walk(st, person, HARDWARE)
