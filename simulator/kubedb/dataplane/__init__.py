"""The data plane of the embedded cluster: real database servers behind the KubeDB model.

`port` is the interface (a modelled adapter and real ones: `postgres`, `redis`,
`mariadb`); `registry` says which kinds get a real server on this machine;
`processes` starts child processes as an unprivileged user; `plane` decides which
databases get a real server and keeps each one matching its cluster objects.
"""
