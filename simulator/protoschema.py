"""The Kubernetes protobuf messages the simulator reads and writes, as a field table from
which protobuf descriptors are built at import time.

Why by hand: no maintained PyPI package ships Python classes generated from k8s.io/api's
`generated.proto` (the one that exists, `k8s-proto`, dates from 2019), and generating them
here would need `protoc` and the Go source tree at build time. The `protobuf` runtime is
used for the wire format itself; this module only says which fields exist. The field
numbers are those of k8s.io/api and k8s.io/apimachinery; only the fields that matter for
the built-in kinds kubectl writes in protobuf are listed (an object with a field outside the
table is answered in JSON, see `protowire`).

Each message is one line of `jsonName=number[:type][flags]` entries. The type is `string`
when left out; `map` is map<string,string>, `map<bytes>` and `map<Quantity>` likewise.
Flags: `*` repeated; `?` keep a zero value (a Go pointer, or a field without `omitempty`);
`^` inlined in JSON (a Go embedded struct). Time, MicroTime, Quantity, IntOrString and
FieldsV1 have their own JSON forms (`protowire`). This module must not encode or decode.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

_PACKAGE = "simulator.k8s"

_MESSAGES: dict[str, str] = {
    # k8s.io/apimachinery: meta/v1, runtime, util/intstr, api/resource
    "ObjectMeta": "name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6 "
    "generation=7:int64 creationTimestamp=8:Time deletionTimestamp=9:Time "
    "deletionGracePeriodSeconds=10:int64? labels=11:map annotations=12:map "
    "ownerReferences=13:OwnerReference* finalizers=14* managedFields=17:ManagedFieldsEntry*",
    "ListMeta": "selfLink=1 resourceVersion=2 continue=3 remainingItemCount=4:int64?",
    "ManagedFieldsEntry": "manager=1 operation=2 apiVersion=3 time=4:Time fieldsType=6 "
    "fieldsV1=7:FieldsV1 subresource=8",
    "OwnerReference": "apiVersion=5 kind=1 name=3 uid=4 controller=6:bool? "
    "blockOwnerDeletion=7:bool?",
    "LabelSelector": "matchLabels=1:map matchExpressions=2:LabelSelectorRequirement*",
    "LabelSelectorRequirement": "key=1 operator=2 values=3*",
    "Condition": "type=1? status=2? observedGeneration=3:int64 lastTransitionTime=4:Time "
    "reason=5? message=6?",
    "Time": "seconds=1:int64 nanos=2:int32",
    "MicroTime": "seconds=1:int64 nanos=2:int32",
    "FieldsV1": "Raw=1:bytes",
    "Quantity": "string=1",
    "IntOrString": "type=1:int64 intVal=2:int32 strVal=3",
    "TypeMeta": "apiVersion=1 kind=2",
    "Unknown": "typeMeta=1:TypeMeta raw=2:bytes contentEncoding=3 contentType=4",
    # k8s.io/api core/v1: Namespace, Secret, ConfigMap
    "Namespace": "metadata=1:ObjectMeta spec=2:NamespaceSpec status=3:NamespaceStatus",
    "NamespaceSpec": "finalizers=1*",
    "NamespaceStatus": "phase=1 conditions=2:NamespaceCondition*",
    "NamespaceCondition": "type=1? status=2? lastTransitionTime=4:Time reason=5 message=6",
    "Secret": "metadata=1:ObjectMeta immutable=5:bool? data=2:map<bytes> stringData=4:map type=3",
    "ConfigMap": "metadata=1:ObjectMeta immutable=4:bool? data=2:map binaryData=3:map<bytes>",
    # Service
    "Service": "metadata=1:ObjectMeta spec=2:ServiceSpec status=3:ServiceStatus",
    "ServiceSpec": "ports=1:ServicePort* selector=2:map clusterIP=3 clusterIPs=18* type=4 "
    "externalIPs=5* sessionAffinity=7 loadBalancerIP=8 loadBalancerSourceRanges=9* "
    "externalName=10 externalTrafficPolicy=11 healthCheckNodePort=12:int32 "
    "publishNotReadyAddresses=13:bool sessionAffinityConfig=14:SessionAffinityConfig "
    "ipFamilies=19* ipFamilyPolicy=17? allocateLoadBalancerNodePorts=20:bool? "
    "loadBalancerClass=21? internalTrafficPolicy=22? trafficDistribution=23?",
    "ServicePort": "name=1 protocol=2 appProtocol=6? port=3:int32? targetPort=4:IntOrString "
    "nodePort=5:int32",
    "ServiceStatus": "loadBalancer=1:LoadBalancerStatus conditions=2:Condition*",
    "LoadBalancerStatus": "ingress=1:LoadBalancerIngress*",
    "LoadBalancerIngress": "ip=1 hostname=2 ipMode=3?",
    "SessionAffinityConfig": "clientIP=1:ClientIPConfig",
    "ClientIPConfig": "timeoutSeconds=1:int32?",
    # Event
    "Event": "metadata=1:ObjectMeta involvedObject=2:ObjectReference reason=3 message=4 "
    "source=5:EventSource firstTimestamp=6:Time lastTimestamp=7:Time count=8:int32 type=9 "
    "eventTime=10:MicroTime series=11:EventSeries action=12 related=13:ObjectReference "
    "reportingComponent=14? reportingInstance=15?",
    "EventSource": "component=1 host=2",
    "EventSeries": "count=1:int32 lastObservedTime=2:MicroTime",
    "ObjectReference": "kind=1 namespace=2 name=3 uid=4 apiVersion=5 resourceVersion=6 fieldPath=7",
    # Pod: the fields a KubeDB-like pod uses
    "Pod": "metadata=1:ObjectMeta spec=2:PodSpec status=3:PodStatus",
    "PodSpec": "volumes=1:Volume* initContainers=20:Container* containers=2:Container* "
    "restartPolicy=3 terminationGracePeriodSeconds=4:int64? activeDeadlineSeconds=5:int64? "
    "dnsPolicy=6 nodeSelector=7:map serviceAccountName=8 serviceAccount=9 "
    "automountServiceAccountToken=21:bool? nodeName=10 hostNetwork=11:bool "
    "securityContext=14:PodSecurityContext imagePullSecrets=15:LocalObjectReference* "
    "hostname=16 subdomain=17 affinity=18:Affinity schedulerName=19 "
    "tolerations=22:Toleration* priorityClassName=24 priority=25:int32? "
    "enableServiceLinks=30:bool? preemptionPolicy=31?",
    "Container": "name=1? image=2 command=3* args=4* workingDir=5 ports=6:ContainerPort* "
    "env=7:EnvVar* resources=8:ResourceRequirements volumeMounts=9:VolumeMount* "
    "livenessProbe=10:Probe readinessProbe=11:Probe startupProbe=22:Probe "
    "terminationMessagePath=13 terminationMessagePolicy=20 imagePullPolicy=14 "
    "securityContext=15:SecurityContext",
    "ContainerPort": "name=1 hostPort=2:int32 containerPort=3:int32? protocol=4 hostIP=5",
    "EnvVar": "name=1? value=2 valueFrom=3:EnvVarSource",
    "EnvVarSource": "fieldRef=1:ObjectFieldSelector configMapKeyRef=3:ConfigMapKeySelector "
    "secretKeyRef=4:SecretKeySelector",
    "ObjectFieldSelector": "apiVersion=1 fieldPath=2?",
    "SecretKeySelector": "localObjectReference=1:LocalObjectReference^ key=2? optional=3:bool?",
    "ConfigMapKeySelector": "localObjectReference=1:LocalObjectReference^ key=2? optional=3:bool?",
    "LocalObjectReference": "name=1",
    "ResourceRequirements": "limits=1:map<Quantity> requests=2:map<Quantity>",
    "VolumeMount": "name=1? readOnly=2:bool mountPath=3? subPath=4",
    "Volume": "name=1? volumeSource=2:VolumeSource^",
    "VolumeSource": "emptyDir=2:EmptyDirVolumeSource secret=6:SecretVolumeSource "
    "persistentVolumeClaim=10:PersistentVolumeClaimVolumeSource "
    "configMap=19:ConfigMapVolumeSource",
    "EmptyDirVolumeSource": "medium=1 sizeLimit=2:Quantity",
    "SecretVolumeSource": "secretName=1 items=2:KeyToPath* defaultMode=3:int32? optional=4:bool?",
    "ConfigMapVolumeSource": "localObjectReference=1:LocalObjectReference^ items=2:KeyToPath* "
    "defaultMode=3:int32? optional=4:bool?",
    "KeyToPath": "key=1? path=2? mode=3:int32?",
    "PersistentVolumeClaimVolumeSource": "claimName=1? readOnly=2:bool",
    "Probe": "handler=1:ProbeHandler^ initialDelaySeconds=2:int32 timeoutSeconds=3:int32 "
    "periodSeconds=4:int32 successThreshold=5:int32 failureThreshold=6:int32 "
    "terminationGracePeriodSeconds=7:int64?",
    "ProbeHandler": "exec=1:ExecAction httpGet=2:HTTPGetAction tcpSocket=3:TCPSocketAction",
    "ExecAction": "command=1*",
    "HTTPGetAction": "path=1 port=2:IntOrString? host=3 scheme=4",
    "TCPSocketAction": "port=1:IntOrString? host=2",
    "SecurityContext": "capabilities=1:Capabilities privileged=2:bool? runAsUser=4:int64? "
    "runAsGroup=8:int64? runAsNonRoot=5:bool? readOnlyRootFilesystem=6:bool? "
    "allowPrivilegeEscalation=7:bool?",
    "Capabilities": "add=1* drop=2*",
    "PodSecurityContext": "runAsUser=2:int64? runAsGroup=6:int64? runAsNonRoot=3:bool? "
    "supplementalGroups=4:int64* fsGroup=5:int64?",
    "Toleration": "key=1 operator=2 value=3 effect=4 tolerationSeconds=5:int64?",
    "Affinity": "podAffinity=2:PodAffinity podAntiAffinity=3:PodAffinity",
    "PodAffinity": "requiredDuringSchedulingIgnoredDuringExecution=1:PodAffinityTerm* "
    "preferredDuringSchedulingIgnoredDuringExecution=2:WeightedPodAffinityTerm*",
    "PodAffinityTerm": "labelSelector=1:LabelSelector namespaces=2* topologyKey=3? "
    "namespaceSelector=4:LabelSelector",
    "WeightedPodAffinityTerm": "weight=1:int32? podAffinityTerm=2:PodAffinityTerm",
    "PodStatus": "phase=1 conditions=2:PodCondition* message=3 reason=4 nominatedNodeName=11 "
    "hostIP=5 hostIPs=16:HostIP* podIP=6 podIPs=12:PodIP* startTime=7:Time "
    "initContainerStatuses=10:ContainerStatus* containerStatuses=8:ContainerStatus* "
    "qosClass=9 observedGeneration=17:int64",
    "PodCondition": "type=1? observedGeneration=7:int64 status=2? lastProbeTime=3:Time "
    "lastTransitionTime=4:Time reason=5 message=6",
    "HostIP": "ip=1?",
    "PodIP": "ip=1?",
    "ContainerStatus": "name=1? state=2:ContainerState lastState=3:ContainerState "
    "ready=4:bool? restartCount=5:int32? image=6? imageID=7? containerID=8 started=9:bool?",
    "ContainerState": "waiting=1:ContainerStateWaiting running=2:ContainerStateRunning "
    "terminated=3:ContainerStateTerminated",
    "ContainerStateWaiting": "reason=1 message=2",
    "ContainerStateRunning": "startedAt=1:Time",
    "ContainerStateTerminated": "exitCode=1:int32? signal=2:int32 reason=3 message=4 "
    "startedAt=5:Time finishedAt=6:Time containerID=7",
    # core/v1: ServiceAccount, PersistentVolumeClaim
    "ServiceAccount": "metadata=1:ObjectMeta secrets=2:ObjectReference* "
    "imagePullSecrets=3:LocalObjectReference* automountServiceAccountToken=4:bool?",
    "PersistentVolumeClaim": "metadata=1:ObjectMeta spec=2:PersistentVolumeClaimSpec "
    "status=3:PersistentVolumeClaimStatus",
    "PersistentVolumeClaimSpec": "accessModes=1* selector=4:LabelSelector "
    "resources=2:VolumeResourceRequirements volumeName=3 storageClassName=5? volumeMode=6? "
    "dataSource=7:TypedLocalObjectReference dataSourceRef=8:TypedObjectReference "
    "volumeAttributesClassName=9?",
    "VolumeResourceRequirements": "limits=1:map<Quantity> requests=2:map<Quantity>",
    "TypedLocalObjectReference": "apiGroup=1? kind=2? name=3?",
    "TypedObjectReference": "apiGroup=1? kind=2? name=3? namespace=4?",
    "PersistentVolumeClaimStatus": "phase=1 accessModes=2* capacity=3:map<Quantity> "
    "conditions=4:PersistentVolumeClaimCondition* allocatedResources=5:map<Quantity> "
    "allocatedResourceStatuses=7:map currentVolumeAttributesClassName=8? "
    "modifyVolumeStatus=9:ModifyVolumeStatus",
    "PersistentVolumeClaimCondition": "type=1? status=2? lastProbeTime=3:Time "
    "lastTransitionTime=4:Time reason=5 message=6",
    "ModifyVolumeStatus": "targetVolumeAttributesClassName=1 status=2?",
    "PodTemplateSpec": "metadata=1:ObjectMeta spec=2:PodSpec",
    # k8s.io/api apps/v1: StatefulSet
    "StatefulSet": "metadata=1:ObjectMeta spec=2:StatefulSetSpec status=3:StatefulSetStatus",
    "StatefulSetSpec": "replicas=1:int32? selector=2:LabelSelector template=3:PodTemplateSpec "
    "volumeClaimTemplates=4:PersistentVolumeClaim* serviceName=5? podManagementPolicy=6 "
    "updateStrategy=7:StatefulSetUpdateStrategy revisionHistoryLimit=8:int32? "
    "minReadySeconds=9:int32 "
    "persistentVolumeClaimRetentionPolicy=10:StatefulSetPersistentVolumeClaimRetentionPolicy "
    "ordinals=11:StatefulSetOrdinals",
    "StatefulSetUpdateStrategy": "type=1 rollingUpdate=2:RollingUpdateStatefulSetStrategy",
    "RollingUpdateStatefulSetStrategy": "partition=1:int32? maxUnavailable=2:IntOrString",
    "StatefulSetPersistentVolumeClaimRetentionPolicy": "whenDeleted=1 whenScaled=2",
    "StatefulSetOrdinals": "start=1:int32?",
    "StatefulSetStatus": "observedGeneration=1:int64 replicas=2:int32? readyReplicas=3:int32 "
    "currentReplicas=4:int32 updatedReplicas=5:int32 currentRevision=6 updateRevision=7 "
    "collisionCount=9:int32? conditions=10:StatefulSetCondition* availableReplicas=11:int32?",
    "StatefulSetCondition": "type=1? status=2? lastTransitionTime=3:Time reason=4 message=5",
    # k8s.io/api rbac/v1
    "Role": "metadata=1:ObjectMeta rules=2:PolicyRule*",
    "ClusterRole": "metadata=1:ObjectMeta rules=2:PolicyRule* aggregationRule=3:AggregationRule",
    "AggregationRule": "clusterRoleSelectors=1:LabelSelector*",
    "PolicyRule": "verbs=1* apiGroups=2* resources=3* resourceNames=4* nonResourceURLs=5*",
    "RoleBinding": "metadata=1:ObjectMeta subjects=2:Subject* roleRef=3:RoleRef",
    "ClusterRoleBinding": "metadata=1:ObjectMeta subjects=2:Subject* roleRef=3:RoleRef",
    "Subject": "kind=1? apiGroup=2 name=3? namespace=4",
    "RoleRef": "apiGroup=1? kind=2? name=3?",
    # k8s.io/api authorization/v1: the self reviews of `kubectl auth can-i [--list]`
    "SelfSubjectAccessReview": "metadata=1:ObjectMeta spec=2:SelfSubjectAccessReviewSpec "
    "status=3:SubjectAccessReviewStatus",
    "SelfSubjectAccessReviewSpec": "resourceAttributes=1:ResourceAttributes "
    "nonResourceAttributes=2:NonResourceAttributes",
    "ResourceAttributes": "namespace=1 verb=2 group=3 version=4 resource=5 subresource=6 name=7 "
    "fieldSelector=8:FieldSelectorAttributes labelSelector=9:LabelSelectorAttributes",
    "FieldSelectorAttributes": "rawSelector=1 requirements=2:FieldSelectorRequirement*",
    "LabelSelectorAttributes": "rawSelector=1 requirements=2:LabelSelectorRequirement*",
    "FieldSelectorRequirement": "key=1 operator=2 values=3*",
    "NonResourceAttributes": "path=1 verb=2",
    "SubjectAccessReviewStatus": "allowed=1:bool? denied=4:bool reason=2 evaluationError=3",
    "SelfSubjectRulesReview": "metadata=1:ObjectMeta spec=2:SelfSubjectRulesReviewSpec "
    "status=3:SubjectRulesReviewStatus",
    "SelfSubjectRulesReviewSpec": "namespace=1",
    "SubjectRulesReviewStatus": "resourceRules=1:ResourceRule* nonResourceRules=2:NonResourceRule* "
    "incomplete=3:bool? evaluationError=4",
    "ResourceRule": "verbs=1* apiGroups=2* resources=3* resourceNames=4*",
    "NonResourceRule": "verbs=1* nonResourceURLs=2*",
    # k8s.io/api authentication/v1: the self review of `kubectl auth whoami`
    "SelfSubjectReview": "metadata=1:ObjectMeta status=2:SelfSubjectReviewStatus",
    "SelfSubjectReviewStatus": "userInfo=1:UserInfo",
    "UserInfo": "username=1 uid=2 groups=3*",
}

_RBAC = "rbac.authorization.k8s.io/v1"
KINDS: dict[str, str] = {
    **dict.fromkeys(
        ("Namespace", "Secret", "ConfigMap", "Service", "Pod", "Event", "ServiceAccount"), "v1"
    ),
    "PersistentVolumeClaim": "v1",
    "StatefulSet": "apps/v1",
    **dict.fromkeys(("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"), _RBAC),
}
"""Kinds served in protobuf with their `<Kind>List`s: kind (also its message) -> apiVersion."""

GROUPED: dict[tuple[str, str], str] = {
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
}
"""(apiVersion, kind) -> message, for the kinds of other groups served in protobuf: the
self reviews, which are create-only (no lists)."""

SPECIAL = frozenset({"Time", "MicroTime", "Quantity", "IntOrString", "FieldsV1"})
"""Messages with a JSON form of their own (a string, a number or a raw object)."""

_SCALARS = {
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "bytes": descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
    "int32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
}
_MAP_VALUES = {"map": "string", "map<bytes>": "bytes", "map<Quantity>": "Quantity"}


@dataclass(frozen=True, slots=True)
class Field:
    json: str
    number: int
    type: str
    """A scalar name, a message name, or `map`, `map<bytes>`, `map<Quantity>`."""
    repeated: bool = False
    keep_zero: bool = False
    inline: bool = False

    @property
    def is_map(self) -> bool:
        return self.type in _MAP_VALUES

    @property
    def is_message(self) -> bool:
        return self.type not in _SCALARS and not self.is_map


def _parse(spec: str) -> tuple[Field, ...]:
    fields = []
    for token in spec.split():
        flags = ""
        while token[-1] in "*?^":
            flags, token = flags + token[-1], token[:-1]
        head, _, kind = token.partition(":")
        name, _, number = head.partition("=")
        fields.append(
            Field(name, int(number), kind or "string", "*" in flags, "?" in flags, "^" in flags)
        )
    return tuple(fields)


FIELDS: dict[str, tuple[Field, ...]] = {name: _parse(spec) for name, spec in _MESSAGES.items()}
for _kind in KINDS:
    FIELDS[f"{_kind}List"] = (
        Field("metadata", 1, "ListMeta"),
        Field("items", 2, _kind, repeated=True),
    )

_LABEL = descriptor_pb2.FieldDescriptorProto


def _add_field(message: descriptor_pb2.DescriptorProto, field: Field) -> None:
    proto = message.field.add(name=field.json, number=field.number, json_name=field.json)
    proto.label = _LABEL.LABEL_REPEATED if field.repeated else _LABEL.LABEL_OPTIONAL
    if field.is_map:
        entry = message.nested_type.add(name=f"{field.json[0].upper()}{field.json[1:]}Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, label=_LABEL.LABEL_OPTIONAL, type=_LABEL.TYPE_STRING)
        value = entry.field.add(name="value", number=2, label=_LABEL.LABEL_OPTIONAL)
        value_type = _MAP_VALUES[field.type]
        if value_type in _SCALARS:
            value.type = _SCALARS[value_type]
        else:
            value.type, value.type_name = _LABEL.TYPE_MESSAGE, f".{_PACKAGE}.{value_type}"
        proto.label = _LABEL.LABEL_REPEATED
        proto.type, proto.type_name = (
            _LABEL.TYPE_MESSAGE,
            f".{_PACKAGE}.{message.name}.{entry.name}",
        )
    elif field.type in _SCALARS:
        proto.type = _SCALARS[field.type]
    else:
        proto.type, proto.type_name = _LABEL.TYPE_MESSAGE, f".{_PACKAGE}.{field.type}"


def _build() -> dict[str, type[Message]]:
    file = descriptor_pb2.FileDescriptorProto(
        name="simulator/k8s.proto", package=_PACKAGE, syntax="proto2"
    )
    for name, fields in FIELDS.items():
        message = file.message_type.add(name=name)
        for field in fields:
            _add_field(message, field)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in FIELDS
    }


CLASSES: dict[str, type[Message]] = _build()
