"""Concurrent launches into one subnet, as EC2 serves them: each instance gets its own address.

moto hands out a subnet's next private IP from one generator per subnet (cached on the
subnet), and the sandbox server is threaded: two RunInstances into the same subnet at once
(a workshop's seats launch in parallel) advance that generator together, and the second
fails with "ValueError: generator already executing" where EC2 launches both. One lock
around the hand-out serializes only that step.

Installed once per process by `seed.seed_region`, for the server and in-process tests alike.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.ec2.models.subnets import Subnet

from amazonei_sandbox.patching import once

_LOCK = threading.Lock()


@once
def install() -> None:
    original = Subnet.get_available_subnet_ip

    def get_available_subnet_ip(self: Subnet, instance: Any) -> str:
        with _LOCK:
            return original(self, instance)

    Subnet.get_available_subnet_ip = get_available_subnet_ip  # type: ignore[method-assign]
