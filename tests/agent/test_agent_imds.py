"""The IMDSv2 client against a loopback IMDS that refuses IMDSv1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from amazonei_setup.agent.imds import (
    IMDS_DEFAULT,
    ImdsClient,
    ImdsError,
    read_associations,
    read_instance,
)


def test_the_fake_refuses_imdsv1(fake_imds, samples):
    imds = fake_imds(samples.metadata("m5.xlarge"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(imds.url + "/latest/meta-data/instance-id", timeout=2)
    assert refused.value.code == 401


def test_reads_the_instance_with_a_token(fake_imds, samples):
    imds = fake_imds(samples.metadata("inf1.xlarge"))
    found = read_instance(ImdsClient(imds.url))
    assert found == {
        "id": samples.instance_id,
        "type": "inf1.xlarge",
        "region": "us-west-2",
        "availability_zone": "us-west-2b",
        "reason": None,
    }
    assert imds.log[0][:2] == ("PUT", "/latest/api/token")
    assert {status for _, _, status in imds.log} == {200}  # one token, every GET accepted
    assert sum(1 for method, _, _ in imds.log if method == "PUT") == 1


def test_endpoint_comes_from_the_environment(monkeypatch, fake_imds, samples):
    imds = fake_imds(samples.metadata("m5.large"))
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url + "/")
    assert ImdsClient().endpoint == imds.url
    assert read_instance(ImdsClient())["type"] == "m5.large"
    monkeypatch.delenv("AMAZONEI_AGENT_IMDS_ENDPOINT")
    assert ImdsClient().endpoint == IMDS_DEFAULT  # (constructed only: nothing is contacted)


def test_an_expired_token_is_renewed_once(fake_imds, samples):
    imds = fake_imds(samples.metadata("m5.xlarge"))
    client = ImdsClient(imds.url)
    assert client.get("instance-id") == samples.instance_id
    imds.expire_tokens()
    assert client.get("instance-type") == "m5.xlarge"
    assert [method for method, _, _ in imds.log].count("PUT") == 2
    assert ("GET", "/latest/meta-data/instance-type", 401) in imds.log


def test_region_falls_back_to_the_zone(fake_imds, samples):
    items = samples.metadata("m5.xlarge")
    del items["placement/region"]
    imds = fake_imds(items)
    assert read_instance(ImdsClient(imds.url))["region"] == "us-west-2"


def test_unreachable_imds_gives_nulls_and_a_reason(closed_port):
    client = ImdsClient(f"http://127.0.0.1:{closed_port}")
    found = read_instance(client)
    assert found["id"] is None and found["type"] is None and found["region"] is None
    assert "IMDS unreachable" in found["reason"]
    with pytest.raises(ImdsError, match="unreachable"):  # and later calls fail fast
        client.get("instance-id")


def test_an_imds_that_refuses_sessions_is_explained(fake_imds, samples):
    imds = fake_imds(samples.metadata("m5.xlarge"))
    client = ImdsClient(imds.url, ttl=0)  # the fake, like AWS, refuses a TTL of 0
    assert "HTTP 400" in read_instance(client)["reason"]


def test_reads_ei_associations_as_aws_nests_them(fake_imds, samples):
    imds = fake_imds(samples.metadata("m5.xlarge", eia_type="eia2.medium"))
    found = read_associations(ImdsClient(imds.url))
    assert found == [{"id": samples.eia_id, "type": "eia2.medium", "simulated": False}]


def test_flat_and_simulated_association_documents(fake_imds, samples):
    items = samples.metadata("m5.xlarge")
    items["elastic-inference/associations"] = "eia-1\neia-2\n"
    items["elastic-inference/associations/eia-1"] = json.dumps(
        {"elastic-inference-accelerator-type": "eia1.large", "amazonei-setup-simulated": True}
    )
    items["elastic-inference/associations/eia-2"] = "not json"
    found = read_associations(ImdsClient(fake_imds(items).url))
    assert found == [
        {"id": "eia-1", "type": "eia1.large", "simulated": True},
        {"id": "eia-2", "type": None, "simulated": False},
    ]


def test_no_associations_is_an_empty_list(fake_imds, samples):
    imds = fake_imds(samples.metadata("m5.xlarge"))
    assert read_associations(ImdsClient(imds.url)) == []


def test_an_endpoint_speaking_garbage_is_a_reason_not_a_crash():
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        for _ in range(2):
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(4096)
            connection.sendall(b"SSH-2.0-not-http\r\n\r\n")
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        found = read_instance(ImdsClient(f"http://127.0.0.1:{listener.getsockname()[1]}"))
    finally:
        listener.close()
    assert found["id"] is None and "IMDS unreachable" in found["reason"]
