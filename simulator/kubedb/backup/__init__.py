"""A model of KubeStash, the backup operator KubeDB ships with: its kinds (storage, core and
addons groups), webhooks, and controllers for BackupStorage, BackupConfiguration,
BackupSession (with Snapshots, Repositories and retention) and RestoreSession. Where the
target's data plane is real, backups and restores move real data (`movers`).

It lives inside the KubeDB plugin because it needs the database kinds and their data plane;
`plugin.install` is called by the KubeDB plugin's `install`.
"""
