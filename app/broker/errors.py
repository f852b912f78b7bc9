"""Redis errors as the rest of the system sees them; redis-py's are translated at the edge.

    BrokerError
    └── BrokerUnavailable   connection refused, reset or timed out (temporary)
"""

from __future__ import annotations


class BrokerError(Exception):
    pass


class BrokerUnavailable(BrokerError):
    pass
