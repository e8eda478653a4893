"""What the command line says is true and complete (issue 14 points 6, 7 and 11)."""

from __future__ import annotations

import json
from pathlib import Path

from support import REGION

EIA = str(Path(__file__).resolve().parents[2] / "templates" / "profiles" / "eia-workshop.yaml")


def launch(run_cli, *argv: str) -> None:
    result = run_cli("launch", "--profile-file", EIA, "--yes", "--no-wait", *argv)
    assert result.code == 0, result.err


def test_a_misspelt_teardown_names_the_deployment_it_probably_meant(aws, run_cli, recorder):
    launch(run_cli)
    recorder.clear()
    for argv in (("eia-worksop",), ("eia-worksop", "--region", REGION)):
        result = run_cli("teardown", *argv, "--yes")
        assert result.code == 2, result.err
        assert "Did you mean 'eia-workshop'?" in " ".join(result.err.split())
    assert recorder.operations(mutating_only=True) == []


def test_status_shows_the_price_per_seat_and_the_total_per_hour(aws, run_cli):
    launch(run_cli, "--seats", "2")
    document = json.loads(run_cli("status", "--output", "json").out)
    [row] = document["deployments"]
    assert (row["price_per_hour_usd"], row["total_per_hour_usd"]) == (0.356, 0.712)
    text = " ".join(run_cli("status").err.split()) + " ".join(run_cli("status").out.split())
    assert "$0.356/h per seat" in text and "$0.712/h in all" in text and "of 2 seats" in text


def test_the_2019_form_in_a_region_without_ei_says_how_to_keep_the_cpu_instance(aws, run_cli):
    aws("eu-north-1")  # a real region where Elastic Inference was never sold
    result = run_cli(
        "launch", "--region", "eu-north-1", "--name", "old", "--instance-type", "m5.large", "--yes"
    )
    assert result.code == 2, result.err
    assert "--accelerator none alone to keep m5.large CPU-only" in " ".join(result.err.split())
