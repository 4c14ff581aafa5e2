"""Who still holds a lease on the embedded queue.

Consumers name themselves `host:pid` (gateway.delivery.queue.consumer_name). When a consumer
starts it can tell, for leases taken on its own host, whether their holder is gone: a pid that
no longer exists, or its own name (a predecessor restarted under the same pid, e.g. pid 1 in a
container; a consumer that is only starting holds nothing yet). Those jobs are released at once
instead of waiting for the lease to lapse. Holders on other hosts cannot be checked: their
leases lapse on their own, and stay short because running jobs are renewed by a heartbeat.
"""

from __future__ import annotations

import os


def held_by_a_dead_local_process(owner: str, me: str) -> bool:
    if owner == me:
        return True
    host, _, pid = owner.rpartition(":")
    if host != me.rpartition(":")[0] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, under another user
        return False
    return False
