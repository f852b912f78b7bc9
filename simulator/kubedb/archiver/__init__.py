"""KubeDB's continuous archiving and point-in-time recovery (archiver.kubedb.com): the
Archiver kinds, the operator's side of a database that opts in, the WAL sidekick of a real
PostgreSQL, and recovery into a new database (`spec.init.archiver`)."""
