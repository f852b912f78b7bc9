"""Basic OpenAPI schemas of the built-in kinds the simulator serves, and of ObjectMeta: the
top-level fields with their types, so `kubectl explain secret.data` or `kubectl explain
pvc.spec` answer. Deeper parts (pod specs, status blocks) are kept whole
(`x-kubernetes-preserve-unknown-fields`).

They are served by `/openapi/v2` and `/openapi/v3` only; writes of built-in kinds are not
checked against them (see docs/simulator.md, "Schemas and validation").
"""

from __future__ import annotations

from typing import Any

from simulator.schema import (
    any_object,
    array,
    boolean,
    int_or_string,
    integer,
    map_of,
    obj,
    pvc_spec,
    string,
    strings_map,
)

OBJECT_META = obj(
    {
        "name": string("unique within a namespace; cannot be updated"),
        "generateName": string("prefix the server completes with a random suffix on create"),
        "namespace": string("the namespace the object lives in"),
        "uid": string("set by the server; unique in time and space"),
        "resourceVersion": string("opaque version of the object, for concurrency control"),
        "generation": integer("sequence number of spec changes", fmt="int64"),
        "creationTimestamp": string("when the server stored the object", fmt="date-time"),
        "deletionTimestamp": string("when deletion was requested", fmt="date-time"),
        "deletionGracePeriodSeconds": integer("seconds allowed for graceful deletion"),
        "labels": strings_map("keys and values to organise and select objects"),
        "annotations": strings_map("arbitrary non-identifying metadata"),
        "finalizers": array(string(), "must be empty before the object is removed"),
        "ownerReferences": array(
            obj(
                {
                    "apiVersion": string(),
                    "kind": string(),
                    "name": string(),
                    "uid": string(),
                    "controller": boolean(),
                    "blockOwnerDeletion": boolean(),
                },
                required=("apiVersion", "kind", "name", "uid"),
            ),
            "objects this one depends on",
        ),
        "managedFields": array(any_object(), "which manager owns which fields"),
    },
    description="Standard object metadata.",
)

_RBAC_RULE = obj(
    {
        "apiGroups": array(string()),
        "resources": array(string()),
        "resourceNames": array(string()),
        "verbs": array(string()),
        "nonResourceURLs": array(string()),
    },
    required=("verbs",),
)
_SUBJECT = obj(
    {"kind": string(), "apiGroup": string(), "name": string(), "namespace": string()},
    required=("kind", "name"),
)
_ROLE_REF = obj(
    {"apiGroup": string(), "kind": string(), "name": string()},
    required=("apiGroup", "kind", "name"),
)
_ROLE = {"rules": array(_RBAC_RULE, "what the role allows")}
_BINDING = {"subjects": array(_SUBJECT), "roleRef": _ROLE_REF}

# (group, version, kind) -> the kind's fields besides apiVersion, kind and metadata
CORE: dict[tuple[str, str, str], dict[str, Any]] = {
    ("", "v1", "Namespace"): {
        "spec": obj({"finalizers": array(string())}),
        "status": obj({"phase": string(enum=("Active", "Terminating"))}, preserve=True),
    },
    ("", "v1", "Secret"): {
        "data": map_of(string(fmt="byte"), "base64-encoded values"),
        "stringData": strings_map("plain values, merged into data on write"),
        "type": string("e.g. Opaque, kubernetes.io/basic-auth"),
        "immutable": boolean("data cannot change once set"),
    },
    ("", "v1", "ConfigMap"): {
        "data": strings_map(),
        "binaryData": map_of(string(fmt="byte")),
        "immutable": boolean(),
    },
    ("", "v1", "Service"): {
        "spec": obj(
            {
                "type": string(enum=("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
                "selector": strings_map("pods the service sends traffic to"),
                "clusterIP": string(),
                "clusterIPs": array(string()),
                "ports": array(
                    obj(
                        {
                            "name": string(),
                            "port": integer(),
                            "targetPort": int_or_string(),
                            "protocol": string(enum=("TCP", "UDP", "SCTP")),
                            "nodePort": integer(),
                            "appProtocol": string(),
                        },
                        required=("port",),
                    )
                ),
                "publishNotReadyAddresses": boolean(),
            },
            preserve=True,
        ),
        "status": any_object(),
    },
    ("", "v1", "Event"): {
        "involvedObject": any_object("the object the event is about"),
        "reason": string(),
        "message": string(),
        "type": string("Normal or Warning"),
        "count": integer(),
        "source": any_object(),
        "firstTimestamp": string(fmt="date-time"),
        "lastTimestamp": string(fmt="date-time"),
        "eventTime": string(fmt="date-time"),
        "reportingComponent": string(),
        "reportingInstance": string(),
        "action": string(),
    },
    ("", "v1", "ServiceAccount"): {
        "secrets": array(any_object()),
        "imagePullSecrets": array(obj({"name": string()})),
        "automountServiceAccountToken": boolean(),
    },
    ("", "v1", "Pod"): {
        "spec": any_object("the pod's containers and volumes"),
        "status": any_object(),
    },
    ("", "v1", "PersistentVolumeClaim"): {
        "spec": pvc_spec(),
        "status": obj(
            {
                "phase": string(enum=("Pending", "Bound", "Lost")),
                "capacity": map_of(int_or_string()),
            },
            preserve=True,
        ),
    },
    ("apps", "v1", "StatefulSet"): {"spec": any_object(), "status": any_object()},
    ("rbac.authorization.k8s.io", "v1", "Role"): _ROLE,
    ("rbac.authorization.k8s.io", "v1", "ClusterRole"): {
        **_ROLE,
        "aggregationRule": any_object(),
    },
    ("rbac.authorization.k8s.io", "v1", "RoleBinding"): _BINDING,
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"): _BINDING,
}
