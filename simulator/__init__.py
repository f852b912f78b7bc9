"""A fake Kubernetes API server with a model of the KubeDB operator (DESIGN §6).

`python -m simulator` serves it; `simulator.server.run_simulator` runs it in-process on a
loopback socket; `simulator.extensions` is the surface the operator model plugs into.
It is a test and demo double, never a production path.
"""
