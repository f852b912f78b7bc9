"""A model of the KubeDB operator: its admission webhooks, provisioner and ops-manager.

Pure decisions live in `engines`, `catalog`, `webhooks`, `conditions`; `provisioner` and
`ops_manager` are the controllers that apply them to objects in the simulated cluster.
"""

from simulator.kubedb.plugin import install

__all__ = ["install"]
