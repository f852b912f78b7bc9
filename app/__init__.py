"""kubedb-dbaas: a Database-as-a-Service control plane for Kubernetes and KubeDB."""
