{{/*
Named templates of the keygate chart.

The ones meant for other charts (see README.md, "Sidecar"):
  keygate.sidecar         the keygate container, as one item of a `containers:` (or, with
                          sidecar.nativeSidecar, `initContainers:`) list
  keygate.sidecarVolumes  its volumes, as items of a `volumes:` list
Both take either the parent chart's root context (then the values are .Values.keygate, the
values of the keygate dependency) or a dict (dict "root" $ "values" $valuesOfKeygate).

Every other template takes a "context": a dict with Values (the keygate chart's values),
Release and Chart, which is the root context inside this chart.
*/}}

{{- define "keygate.name" -}}
{{- default "keygate" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The base name of every object. It depends on the release and the values only (never on
.Chart), so that a parent chart computes the same names as the keygate dependency does.
*/}}
{{- define "keygate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "keygate" .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "keygate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "keygate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keygate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "keygate.labels" -}}
helm.sh/chart: {{ include "keygate.chart" . }}
{{ include "keygate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end -}}

{{- define "keygate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "keygate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "keygate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (required "image.tag is required" .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The name of the ConfigMap or Secret that holds the key file. */}}
{{- define "keygate.keysObjectName" -}}
{{- $source := .Values.keys.source -}}
{{- if eq $source "existingConfigMap" -}}
{{- required "keys.existingConfigMap is required when keys.source is existingConfigMap" .Values.keys.existingConfigMap -}}
{{- else if eq $source "existingSecret" -}}
{{- required "keys.existingSecret is required when keys.source is existingSecret" .Values.keys.existingSecret -}}
{{- else if or (eq $source "configMap") (eq $source "secret") -}}
{{- printf "%s-keys" (include "keygate.fullname" .) -}}
{{- else -}}
{{- fail (printf "keys.source must be configMap, secret, existingConfigMap or existingSecret, not %q" $source) -}}
{{- end -}}
{{- end -}}

{{/*
The listen address: 0.0.0.0 standalone (the Service and the ingress controller reach the
pod's IP), sidecar.listenHost (default 127.0.0.1: only the pod's own containers) as a
sidecar. Context: dict "ctx" CONTEXT "sidecar" BOOL.
*/}}
{{- define "keygate.listen" -}}
{{- if and .sidecar .ctx.Values.sidecar.unixSocket.enabled -}}
{{- include "keygate.socketPath" .ctx | printf "unix:%s" -}}
{{- else -}}
{{- $host := ternary .ctx.Values.sidecar.listenHost "0.0.0.0" .sidecar -}}
{{- printf "%s:%d" $host (int .ctx.Values.port) -}}
{{- end -}}
{{- end -}}

{{/*
KEYGATE_GRPC_LISTEN (grpc.enabled): like keygate.listen, on grpc.port, or the socket
keygate-grpc.sock next to keygate.sock. Context: dict "ctx" CONTEXT "sidecar" BOOL.
*/}}
{{- define "keygate.grpcListen" -}}
{{- if and .sidecar .ctx.Values.sidecar.unixSocket.enabled -}}
{{- printf "unix:%s/keygate-grpc.sock" (trimSuffix "/" .ctx.Values.sidecar.unixSocket.mountPath) -}}
{{- else -}}
{{- $host := ternary .ctx.Values.sidecar.listenHost "0.0.0.0" .sidecar -}}
{{- printf "%s:%d" $host (int .ctx.Values.grpc.port) -}}
{{- end -}}
{{- end -}}

{{/* The Unix socket of sidecar.unixSocket. Context: CONTEXT. */}}
{{- define "keygate.socketPath" -}}
{{- printf "%s/keygate.sock" (trimSuffix "/" .Values.sidecar.unixSocket.mountPath) -}}
{{- end -}}

{{/*
An exec probe for a listener kubelet's httpGet cannot reach (sent to the pod IP, it misses a
127.0.0.1 listener and cannot speak to a Unix socket): `keygate probe` asks PATH from inside
the container and wants a 2xx (no shell needed). Context: dict "ctx" CONTEXT "path" PATH
"timeout" SECONDS "unix" BOOL.
*/}}
{{- define "keygate.execProbeCommand" -}}
{{- $url := "" -}}
{{- if .unix -}}
{{- $url = printf "unix:%s:%s" (include "keygate.socketPath" .ctx) .path -}}
{{- else -}}
{{- $url = printf "http://127.0.0.1:%d%s" (int .ctx.Values.port) .path -}}
{{- end -}}
{{- list "keygate" "probe" "--url" $url "--timeout" (printf "%ds" (int .timeout)) | toJson -}}
{{- end -}}

{{/*
The probes of the keygate container: startup and readiness on /readyz, liveness on /healthz;
httpGet on the keygate port when kubelet can reach it, else `keygate probe` (exec).
Context: dict "ctx" CONTEXT "exec" BOOL "unix" BOOL.
*/}}
{{- define "keygate.probes" -}}
{{- $v := .ctx.Values -}}
{{- range $kind := list "startup" "liveness" "readiness" }}
{{- $path := ternary "/healthz" "/readyz" (eq $kind "liveness") }}
{{- $settings := get $v.probes $kind }}
{{ $kind }}Probe:
  {{- if $.exec }}
  exec:
    command: {{ include "keygate.execProbeCommand" (dict "ctx" $.ctx "path" $path "timeout" $settings.timeoutSeconds "unix" $.unix) }}
  {{- else }}
  httpGet:
    path: {{ $path }}
    port: keygate
  {{- end }}
  {{- toYaml $settings | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The keygate container as one list item. Context: dict "ctx" CONTEXT "sidecar" BOOL.
*/}}
{{- define "keygate.container" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
{{- $sidecar := .sidecar -}}
{{- $unix := and $sidecar $v.sidecar.unixSocket.enabled -}}
{{- $fullname := include "keygate.fullname" $ctx -}}
{{- if and $v.metrics.port (eq (int $v.metrics.port) (int $v.port)) -}}
{{- fail "metrics.port must differ from port (0 keeps /metrics on port)" -}}
{{- end -}}
{{- $grpc := $v.grpc.enabled -}}
{{- if and $grpc (or (eq (int $v.grpc.port) (int $v.port)) (eq (int $v.grpc.port) (int $v.metrics.port))) -}}
{{- fail "grpc.port must differ from port and metrics.port" -}}
{{- end -}}
- name: keygate
  image: {{ include "keygate.image" $ctx | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- if and $sidecar $v.sidecar.nativeSidecar }}
  restartPolicy: Always
  {{- end }}
  # Only "serve": the image's default CMD passes --config and --listen flags, which would
  # win over KEYGATE_CONFIG and KEYGATE_LISTEN below.
  args: ["serve"]
  {{- if or (not $unix) $v.metrics.port }}
  ports:
    {{- if not $unix }}
    - name: keygate
      containerPort: {{ int $v.port }}
      protocol: TCP
    {{- if $grpc }}
    - name: grpc
      containerPort: {{ int $v.grpc.port }}
      protocol: TCP
    {{- end }}
    {{- end }}
    {{- if $v.metrics.port }}
    - name: metrics
      containerPort: {{ int $v.metrics.port }}
      protocol: TCP
    {{- end }}
  {{- end }}
  env:
    - name: KEYGATE_CONFIG
      value: {{ printf "%s/%s" (trimSuffix "/" $v.keys.mountPath) $v.keys.fileName | quote }}
    - name: KEYGATE_LISTEN
      value: {{ include "keygate.listen" (dict "ctx" $ctx "sidecar" $sidecar) | quote }}
    {{- if $v.metrics.port }}
    # /metrics and the admin API on their own port (metrics.port), on every interface, so
    # that Prometheus scrapes it while the main listener stays where it is (127.0.0.1 in a
    # sidecar).
    - name: KEYGATE_ADMIN_LISTEN
      value: {{ printf "0.0.0.0:%d" (int $v.metrics.port) | quote }}
    {{- end }}
    {{- if $grpc }}
    # Envoy's gRPC external authorization and grpc.health.v1.Health (grpc.enabled).
    - name: KEYGATE_GRPC_LISTEN
      value: {{ include "keygate.grpcListen" (dict "ctx" $ctx "sidecar" $sidecar) | quote }}
    {{- end }}
    - name: KEYGATE_AUDIT_LOG
      value: {{ $v.auditLog | quote }}
    - name: KEYGATE_LOG_LEVEL
      value: {{ $v.log.level | quote }}
    - name: KEYGATE_LOG_FORMAT
      value: {{ $v.log.format | quote }}
    {{- if $v.trustedProxies }}
    - name: KEYGATE_TRUSTED_PROXIES
      value: {{ $v.trustedProxies | quote }}
    {{- end }}
    - name: KEYGATE_SHUTDOWN_DELAY
      value: {{ $v.shutdownDelay | quote }}
    {{- if $v.gracePeriod }}
    - name: KEYGATE_GRACE_PERIOD
      value: {{ $v.gracePeriod | quote }}
    {{- end }}
    {{- if $v.stateDir.enabled }}
    - name: KEYGATE_STATE_DIR
      value: {{ $v.stateDir.mountPath | quote }}
    {{- end }}
    {{- if $v.adminKey.existingSecret }}
    - name: API_KEY_ADMIN
      valueFrom:
        secretKeyRef:
          name: {{ $v.adminKey.existingSecret | quote }}
          key: {{ $v.adminKey.secretKey | quote }}
    {{- end }}
    {{- if $v.hashPepper.existingSecret }}
    - name: KEYGATE_HASH_PEPPER
      valueFrom:
        secretKeyRef:
          name: {{ $v.hashPepper.existingSecret | quote }}
          key: {{ $v.hashPepper.secretKey | quote }}
    {{- end }}
    {{- with $v.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumeMounts:
    # The whole directory, never a subPath: kubelet updates the files by swapping the
    # directory's ..data symlink, and keygate watches the directory for that swap.
    - name: {{ printf "%s-keys" $fullname | trunc 63 | trimSuffix "-" }}
      mountPath: {{ $v.keys.mountPath | quote }}
      readOnly: true
    {{- if $v.stateDir.enabled }}
    - name: {{ printf "%s-state" $fullname | trunc 63 | trimSuffix "-" }}
      mountPath: {{ $v.stateDir.mountPath | quote }}
    {{- end }}
    {{- if $unix }}
    # Shared with the proxy container, which mounts the same volume at the same path.
    - name: keygate-socket
      mountPath: {{ $v.sidecar.unixSocket.mountPath | quote }}
    {{- end }}
    {{- with $v.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- /* No lifecycle hook: on SIGTERM keygate itself answers /readyz with 503 and keeps
         serving for KEYGATE_SHUTDOWN_DELAY (shutdownDelay), then drains. */}}
  {{- $exec := or $unix (and $sidecar (ne $v.sidecar.listenHost "0.0.0.0")) }}
  {{- include "keygate.probes" (dict "ctx" $ctx "exec" $exec "unix" $unix) | nindent 2 }}
  {{- with $v.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* The volumes of the keygate container as list items. Context: CONTEXT. */}}
{{- define "keygate.volumes" -}}
{{- $fullname := include "keygate.fullname" . -}}
{{- $source := .Values.keys.source -}}
- name: {{ printf "%s-keys" $fullname | trunc 63 | trimSuffix "-" }}
  {{- if or (eq $source "secret") (eq $source "existingSecret") }}
  secret:
    secretName: {{ include "keygate.keysObjectName" . | quote }}
    defaultMode: 0444
  {{- else }}
  configMap:
    name: {{ include "keygate.keysObjectName" . | quote }}
    defaultMode: 0444
  {{- end }}
{{- if .Values.stateDir.enabled }}
- name: {{ printf "%s-state" $fullname | trunc 63 | trimSuffix "-" }}
  emptyDir:
    sizeLimit: {{ .Values.stateDir.sizeLimit | quote }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") .Values.sidecar.unixSocket.enabled }}
# keygate's Unix socket (sidecar.unixSocket): mount it in the proxy container too.
- name: keygate-socket
  emptyDir:
    medium: Memory
    sizeLimit: 1Mi
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Fills dict "out" with the context of the sidecar templates (Values, Release, Chart) from
"in": the parent's root context (values under .Values.keygate) or
dict "root" ROOT "values" VALUES. Dicts are references, so the caller sees the keys.
*/}}
{{- define "keygate.sidecarContext" -}}
{{- $in := .in -}}
{{- if hasKey $in "root" -}}
{{- $_ := set .out "Values" (required "keygate.sidecar: \"values\" is missing" $in.values) -}}
{{- $_ := set .out "Release" $in.root.Release -}}
{{- $_ := set .out "Chart" $in.root.Chart -}}
{{- else -}}
{{- $_ := set .out "Values" (required "keygate.sidecar: .Values.keygate (the keygate dependency's values) is missing; or pass (dict \"root\" $ \"values\" VALUES)" $in.Values.keygate) -}}
{{- $_ := set .out "Release" $in.Release -}}
{{- $_ := set .out "Chart" $in.Chart -}}
{{- end -}}
{{- end -}}

{{/* The keygate container for a parent chart's pod (see the comment at the top). */}}
{{- define "keygate.sidecar" -}}
{{- $ctx := dict -}}
{{- include "keygate.sidecarContext" (dict "in" . "out" $ctx) -}}
{{- include "keygate.container" (dict "ctx" $ctx "sidecar" true) -}}
{{- end -}}

{{/* The keygate container's volumes for a parent chart's pod. */}}
{{- define "keygate.sidecarVolumes" -}}
{{- $ctx := dict -}}
{{- include "keygate.sidecarContext" (dict "in" . "out" $ctx) -}}
{{- include "keygate.volumes" $ctx -}}
{{- end -}}
