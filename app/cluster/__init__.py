"""The Kubernetes gateway: KubeDB resources on real clusters (and the simulator), via lightkube."""
