"""Parallel launches into one subnet each get their own address (amazonei_sandbox/subnet_ips.py):
moto's per-subnet IP generator, advanced by two server threads at once, used to fail the second
RunInstances with "generator already executing"."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from moto.ec2.models.subnets import Subnet

SEATS, ROUNDS = 8, 6


def _switching_hosts(subnet: Subnet):
    """The subnet's hosts, handing the GIL to another thread before each one: what a busy
    server does at random, done every time."""
    for host in subnet.cidr.hosts():
        time.sleep(0)  # yields the GIL; waits for nothing
        yield host


def test_parallel_launches_into_one_subnet_each_get_their_own_address(aws, monkeypatch):
    ec2 = boto3.client("ec2", region_name="us-west-2")
    subnet_id = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    shared: dict[int, object] = {}
    guard = threading.Lock()

    def one_generator(self: Subnet):
        with guard:  # one generator per subnet, as moto caches it
            return shared.setdefault(id(self), _switching_hosts(self))

    monkeypatch.setattr(Subnet, "_base_avail_ip_iterator", one_generator)

    def launch(_: int) -> str:
        reservation = ec2.run_instances(
            ImageId=image, InstanceType="m5.large", MinCount=1, MaxCount=1, SubnetId=subnet_id
        )
        return reservation["Instances"][0]["PrivateIpAddress"]

    with ThreadPoolExecutor(SEATS) as pool:
        addresses = list(pool.map(launch, range(SEATS * ROUNDS)))
    assert len(set(addresses)) == SEATS * ROUNDS
