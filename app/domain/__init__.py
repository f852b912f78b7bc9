"""Pure rules of the system: records, state machines, retry policy, the engine and size tables,
validation, KubeDB manifests and the status mapping. No I/O, no imports of ours outside this
package."""
