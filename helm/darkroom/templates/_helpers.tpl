{{/* Names and labels. */}}
{{- define "darkroom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "darkroom.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "darkroom.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "darkroom.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "darkroom.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "darkroom.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: darkroom
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "gateway"). */}}
{{- define "darkroom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "darkroom.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Deep merge where every key present in "over" wins, false and 0 included (sprig's
mergeOverwrite skips those). Returns YAML: (dict "base" map "over" map) | fromYaml.
*/}}
{{- define "darkroom.deepMerge" -}}
{{- $out := deepCopy .base -}}
{{- range $k, $v := .over -}}
{{- if and (kindIs "map" $v) (kindIs "map" (get $out $k)) -}}
{{- $_ := set $out $k (include "darkroom.deepMerge" (dict "base" (get $out $k) "over" $v) | fromYaml) -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The settings of one service, serviceDefaults merged under its own: (dict "root" $ "name" "x"). */}}
{{- define "darkroom.service" -}}
{{- $own := get .root.Values.services .name | default dict -}}
{{- include "darkroom.deepMerge" (dict "base" .root.Values.serviceDefaults "over" $own) -}}
{{- end -}}

{{/* Whether KEDA scales this service: (dict "root" $ "svc" $svc). */}}
{{- define "darkroom.kedaActive" -}}
{{- if and .root.Values.keda.enabled .svc.consumers -}}true{{- end -}}
{{- end -}}

{{/* Image reference: (dict "root" $ "name" "gateway" "svc" $svc). */}}
{{- define "darkroom.image" -}}
{{- $img := .root.Values.image -}}
{{- $variant := .svc.imageVariant -}}
{{- if and (not $variant) .svc.gpu.enabled -}}{{- $variant = .svc.imageVariantGpu | default "" -}}{{- end -}}
{{- $repo := printf "%s/%s" $img.repository .name -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $repo $img.digest -}}
{{- else -}}
{{- printf "%s:%s%s" $repo ($img.tag | default .root.Chart.AppVersion) $variant -}}
{{- end -}}
{{- end -}}

{{/* Where the credentials files are mounted. */}}
{{- define "darkroom.secretsDir" -}}/etc/darkroom/secrets{{- end -}}

{{- define "darkroom.credentialsSecret" -}}{{ include "darkroom.fullname" . }}-credentials{{- end -}}
{{- define "darkroom.dbClusterName" -}}{{ include "darkroom.fullname" . }}-db{{- end -}}

{{/* Whether the chart's own credentials Secret has anything to hold. */}}
{{- define "darkroom.needsChartSecret" -}}
{{- $v := .Values -}}
{{- if or (and (not $v.database.bundled.enabled) (not $v.database.existingSecret)) (and (not $v.nats.existingSecret) (not $v.natsAuth.enabled)) (and (eq $v.storage.backend "s3") (not $v.storage.s3.existingSecret)) -}}true{{- end -}}
{{- end -}}

{{/* Projected-volume sources of the database URL (used by services and the migration Job). */}}
{{- define "darkroom.databaseSource" -}}
{{- $v := .Values -}}
- secret:
{{- if $v.database.bundled.enabled }}
    name: {{ include "darkroom.dbClusterName" . }}-app
    items: [{key: uri, path: database-url}]
{{- else if $v.database.existingSecret }}
    name: {{ $v.database.existingSecret }}
    items: [{key: {{ $v.database.existingSecretKey }}, path: database-url}]
{{- else }}
    name: {{ include "darkroom.credentialsSecret" . }}
    items: [{key: database-url, path: database-url}]
{{- end }}
{{- end -}}

{{/* Projected-volume sources of every credential a service reads. */}}
{{- define "darkroom.credentialSources" -}}
{{- $v := .Values -}}
{{ include "darkroom.databaseSource" . }}
- secret:
{{- if $v.nats.existingSecret }}
    name: {{ $v.nats.existingSecret }}
    items: [{key: {{ $v.nats.existingSecretKey }}, path: nats-url}]
{{- else if $v.natsAuth.enabled }}
    name: {{ $v.natsAuth.secretName }}
    items: [{key: nats-url, path: nats-url}]
{{- else }}
    name: {{ include "darkroom.credentialsSecret" . }}
    items: [{key: nats-url, path: nats-url}]
{{- end }}
{{- if eq $v.storage.backend "s3" }}
- secret:
    name: {{ $v.storage.s3.existingSecret | default (include "darkroom.credentialsSecret" .) }}
    items:
      - {key: {{ ternary $v.storage.s3.accessKeyKey "s3-access-key" (ne $v.storage.s3.existingSecret "") }}, path: s3-access-key}
      - {key: {{ ternary $v.storage.s3.secretKeyKey "s3-secret-key" (ne $v.storage.s3.existingSecret "") }}, path: s3-secret-key}
{{- end }}
{{- end -}}

{{/* Environment of a service: (dict "root" $ "name" "x" "svc" $svc). Secrets only as *_FILE. */}}
{{- define "darkroom.env" -}}
{{- $v := .root.Values -}}
{{- $dir := include "darkroom.secretsDir" .root -}}
- {name: DARKROOM_LOG_LEVEL, value: {{ $v.logLevel | quote }}}
- {name: DARKROOM_METRICS_PORT, value: {{ $v.metricsPort | quote }}}
- {name: DARKROOM_DATABASE_URL_FILE, value: {{ printf "%s/database-url" $dir | quote }}}
- {name: DARKROOM_NATS_URL_FILE, value: {{ printf "%s/nats-url" $dir | quote }}}
- {name: DARKROOM_NATS_REPLICAS, value: {{ $v.nats.streamReplicas | default 1 | toString | quote }}}
- {name: DARKROOM_STORAGE_BACKEND, value: {{ $v.storage.backend | quote }}}
{{- if eq $v.storage.backend "s3" }}
- {name: DARKROOM_STORAGE_S3_ENDPOINT, value: {{ $v.storage.s3.endpoint | quote }}}
- {name: DARKROOM_STORAGE_S3_BUCKET, value: {{ $v.storage.s3.bucket | quote }}}
- {name: DARKROOM_STORAGE_S3_REGION, value: {{ $v.storage.s3.region | quote }}}
- {name: DARKROOM_STORAGE_S3_ACCESS_KEY_FILE, value: {{ printf "%s/s3-access-key" $dir | quote }}}
- {name: DARKROOM_STORAGE_S3_SECRET_KEY_FILE, value: {{ printf "%s/s3-secret-key" $dir | quote }}}
{{- else }}
- {name: DARKROOM_STORAGE_ROOT, value: {{ printf "%s/storage" $v.storage.filesystem.mountPath | quote }}}
{{- end }}
{{- if .svc.ml }}
- {name: DARKROOM_ML_MODEL_DIR, value: {{ $v.models.mountPath | quote }}}
{{- end }}
{{- if eq .name "gateway" }}
- {name: DARKROOM_HOST, value: "0.0.0.0"}
{{- end }}
{{- if and (eq .name "gateway") $v.map.tileUrl }}
- {name: DARKROOM_MAP_TILE_URL, value: {{ $v.map.tileUrl | quote }}}
{{- end }}
{{- if and (eq .name "gateway") $v.map.attribution }}
- {name: DARKROOM_MAP_ATTRIBUTION, value: {{ $v.map.attribution | quote }}}
{{- end }}
{{- if eq .name "face" }}
- {name: DARKROOM_DETECTION_MODEL_DIR, value: {{ $v.models.mountPath | quote }}}
{{- end }}
{{- if and .svc.gpu.enabled (eq .name "transcode") }}
- {name: NVIDIA_DRIVER_CAPABILITIES, value: "compute,video,utility"}
{{- end }}
{{- range $k, $val := (merge (deepCopy (.svc.env | default dict)) $v.env) }}
- {name: {{ $k }}, value: {{ $val | toString | quote }}}
{{- end }}
{{- end -}}

{{- define "darkroom.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end -}}

{{/* NATS URL: the bundled server's Service, or nats.url. */}}
{{- define "darkroom.natsUrl" -}}
{{- if .Values.nats.bundled.enabled -}}
{{- printf "nats://%s-nats.%s.svc:4222" .Release.Name .Release.Namespace -}}
{{- else -}}
{{- required "nats.url is required (or nats.existingSecret)" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{/* NATS monitoring endpoint (host:port) for KEDA. */}}
{{- define "darkroom.natsMonitoring" -}}
{{- if .Values.nats.bundled.enabled -}}
{{- printf "%s-nats.%s.svc:8222" .Release.Name .Release.Namespace -}}
{{- else -}}
{{- .Values.nats.monitoringEndpoint -}}
{{- end -}}
{{- end -}}

{{/* host:port of the NATS URL (no scheme, no credentials). */}}
{{- define "darkroom.natsHostPort" -}}
{{- $u := include "darkroom.natsUrl" . | trimPrefix "nats://" | trimPrefix "tls://" -}}
{{- regexReplaceAll "^.*@" $u "" -}}
{{- end -}}
