"""Redis errors as the rest of the system sees them; redis-py's are translated at the edge.

BrokerError
├── BrokerUnavailable   connection refused, reset or timed out (temporary)
└── QueueLost           the queue's stream or consumer group is gone (`NOGROUP`): Redis
                        lost its data; recreate the group and re-send the wake-ups
"""

from __future__ import annotations


class BrokerError(Exception):
    pass


class BrokerUnavailable(BrokerError):
    pass


class QueueLost(BrokerError):
    pass
