"""The size menus list the accelerated types AWS offers in the region, with AWS's figures and
the region's prices, each source said (issue 21); the CPU menu keeps the catalog's hosts."""

from __future__ import annotations

from wizard_fakes import FakeAws, state

from amazonei_setup.cli.wizard import hardware, labels
from amazonei_setup.cli.wizard.choices import family
from amazonei_setup.cli.wizard.prompts import Answer
from amazonei_setup.cli.wizard.questions import Menu
from amazonei_setup.spec.catalog import InstanceSpec
from amazonei_setup.spec.pricing import listed_price

L4 = InstanceSpec(
    "g6.xlarge", "g6", "nvidia", "NVIDIA L4", 4, 16.0, None,
    gpus=1, gpu_model="L4", gpu_memory_gib=22.35, source="aws",
)  # fmt: skip
TRN = InstanceSpec(
    "trn1.32xlarge", "trn1", "neuron", "AWS Trainium", 128, 512.0, None,
    neuron_devices=16, neuron_cores=32, source="aws",
)  # fmt: skip
LISTED = {"g6.xlarge": listed_price(0.805, "us-west-2", "2026-12-07")}


def _aws() -> FakeAws:
    return FakeAws(aws_types={"g6.xlarge": L4, "trn1.32xlarge": TRN}, listed=dict(LISTED))


def test_the_nvidia_menu_adds_awss_types_with_the_regions_price_and_its_source(tmp_path):
    st = state(tmp_path, aws=_aws())
    st.sheet.family = family("nvidia")
    menu = hardware.SIZE.show(st)
    assert isinstance(menu, Menu) and menu.default == "g4dn.xlarge"
    rows = {o.value: o for o in menu.options}
    sizes = ["g4dn.xlarge", "g5.xlarge", "g6.xlarge", "p2.xlarge", "p3.2xlarge"]
    assert [o.value for o in menu.options] == sizes
    assert rows["g6.xlarge"].cells[1:5] == ("4", "16 GiB", "1× L4 22 GiB", "0.805")
    assert rows["g4dn.xlarge"].cells[4] == "0.526*"  # the catalog's offline figure, marked
    assert menu.note.startswith("On-demand $/hour: us-west-2 price list, 2026-12-07; * us-east-1")
    assert "offline" in menu.note and "--instance-type" in menu.note


def test_the_neuron_menu_adds_trainium_and_a_chosen_aws_type_is_known_after(tmp_path):
    st = state(tmp_path, aws=_aws())
    st.sheet.family = family("inferentia")
    menu = hardware.SIZE.show(st)
    assert isinstance(menu, Menu) and menu.default == "inf2.xlarge"
    trn = next(o for o in menu.options if o.value == "trn1.32xlarge")
    assert trn.cells[3:5] == ("32 NeuronCores", "?") and "? no price known" in menu.note
    hardware.SIZE.record(st, Answer("trn1.32xlarge", typed=True))
    assert st.catalog.instance("trn1.32xlarge") == TRN
    assert labels.default_name(st) == "trn1-demo"


def test_the_cpu_menu_keeps_the_catalogs_hosts_and_names_the_flag_for_others(tmp_path):
    st = state(tmp_path, aws=_aws())
    st.sheet.family = family("cpu")
    menu = hardware.SIZE.show(st)
    assert isinstance(menu, Menu) and menu.default == "m5.large"
    assert len(menu.options) == 8 and "g6.xlarge" not in [o.value for o in menu.options]
    assert "Any other type AWS sells: --instance-type" in menu.note


def test_a_family_only_aws_offers_enables_it(tmp_path):
    st = state(tmp_path, aws=_aws())
    menu = hardware.FAMILY.show(st)
    assert isinstance(menu, Menu)
    assert not next(o for o in menu.options if o.value == "nvidia").disabled


def test_lookups_read_awss_hardware_once_and_price_it_in_one_read_per_family(
    aws, tmp_path, recorder
):
    """Against in-process moto (AWS's own instance data) and the sandbox's price list."""
    import io

    from rich.console import Console

    from amazonei_sandbox.price_list import answer_request
    from amazonei_setup.aws.clients import AwsClients, AwsTarget
    from amazonei_setup.cli.wizard.context import WizardContext
    from amazonei_setup.cli.wizard.lookups import Lookups
    from amazonei_setup.spec.catalog import load_catalog

    def session(target):
        made = recorder.session_factory(target)
        made.events.register("before-send.pricing.GetProducts", answer_request)
        return made

    clients: dict[str, AwsClients] = {}

    def clients_for(region: str) -> AwsClients:
        return clients.setdefault(region, AwsClients(AwsTarget(region), session))

    console = Console(file=io.StringIO(), width=80)
    reads = Lookups(WizardContext(console, tmp_path, clients_for, lambda t: ""), load_catalog())
    offered = reads.accelerated("us-west-2")
    assert {"g6.xlarge", "g6e.xlarge", "p5.48xlarge", "inf2.xlarge", "trn1.32xlarge"} <= set(
        offered
    )
    assert "p2.xlarge" not in offered and all(s.kind != "cpu" for s in offered.values())
    prices = reads.prices("us-west-2", sorted(offered))
    assert prices["g6.xlarge"].source.startswith("us-west-2 price list, ")
    asked = recorder.of("GetProducts")
    assert len(asked) == 2  # the two accelerated Price List families, not one call per type
    reads.accelerated("us-west-2")
    assert len(recorder.of("DescribeInstanceTypes")) == 1  # read once, then remembered
