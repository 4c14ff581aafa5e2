{{/*
Helpers shared by every template. The tests render and lint the chart with Helm itself
(tests/deploy/helmchart.py).
*/}}

{{/* Chart name. */}}
{{- define "gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects. Truncated to 52 characters so that the longest component
suffix ("-migrate") still fits the 63-character limit of names and label values.
*/}}
{{- define "gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object (templates add app.kubernetes.io/component where it applies). */}}
{{- define "gateway.labels" -}}
helm.sh/chart: {{ include "gateway.chart" . }}
{{ include "gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels (plus app.kubernetes.io/component, added by each workload). */}}
{{- define "gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The image, tag defaulting to the chart's appVersion. */}}
{{- define "gateway.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* ServiceAccount of the long-running pods. */}}
{{- define "gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the long-running pods read: the operator's own, or the chart's. */}}
{{- define "gateway.secretName" -}}
{{- default (include "gateway.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
Non-empty when the release brings no database: a development install on the embedded SQLite
file and queue. One API pod then does everything (`gateway serve` relays and delivers
in-process): a second pod, a relay or a worker would each open a SQLite file of their own.
*/}}
{{- define "gateway.embedded" -}}
{{- if and (ne .Values.config.environment "production") (not .Values.secrets.existingSecret) (not .Values.secrets.databaseUrl) }}true{{ end }}
{{- end }}

{{/* Non-empty when the gateway's signing key is mounted (always so in production). */}}
{{- define "gateway.signingEnabled" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.signingKey }}true{{ end }}
{{- end }}

{{/* Non-empty when a trust bundle is mounted. */}}
{{- define "gateway.trustBundleEnabled" -}}
{{- if or .Values.trustBundle.existingConfigMap .Values.trustBundle.pem }}true{{ end }}
{{- end }}

{{/*
Non-secret settings, as the data of the chart's ConfigMap (read with envFrom). A checksum of
this text is a pod annotation, so changing a setting rolls the Deployments.
*/}}
{{- define "gateway.configData" -}}
GATEWAY_ENVIRONMENT: {{ .Values.config.environment | quote }}
{{- if hasKey .Values.config "nodeCode" }}
GATEWAY_NODE_CODE: {{ .Values.config.nodeCode | quote }}
{{- end }}
GATEWAY_LOG_FORMAT: {{ .Values.config.logFormat | quote }}
GATEWAY_DATA_DIR: "/var/lib/gateway"
GATEWAY_AUTO_MIGRATE: {{ if include "gateway.embedded" . }}"true"{{ else }}"false"{{ end }}
GATEWAY_MAX_BODY_BYTES: {{ mul .Values.config.maxBodyMiB 1048576 | quote }}
{{- with .Values.config.clientCertHeader }}
GATEWAY_CLIENT_CERT_HEADER: {{ . | quote }}
{{- end }}
{{- with .Values.config.trustedProxies }}
GATEWAY_TRUSTED_PROXIES: {{ toJson . | quote }}
{{- end }}
{{- if include "gateway.trustBundleEnabled" . }}
GATEWAY_TRUST_BUNDLE: "/etc/gateway/trust/ca-bundle.pem"
{{- end }}
{{- range $name, $value := .Values.config.extraEnv }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end }}

{{/* The data of the chart's Secret (nothing when existingSecret is used). */}}
{{- define "gateway.secretData" -}}
{{- if not .Values.secrets.existingSecret }}
database-url: {{ .Values.secrets.databaseUrl | b64enc | quote }}
broker-url: {{ .Values.secrets.brokerUrl | b64enc | quote }}
{{- with .Values.secrets.bootstrapAdminKey }}
bootstrap-admin-key: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.secrets.secretsKey }}
secrets-key: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.secrets.auditAnchorKey }}
audit-anchor-key: {{ . | b64enc | quote }}
{{- end }}
{{- if .Values.secrets.signingKey }}
gateway-key.pem: {{ .Values.secrets.signingKey | b64enc | quote }}
gateway-cert.pem: {{ .Values.secrets.signingCert | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod annotations of the long-running pods: roll them when settings or secrets change. */}}
{{- define "gateway.podAnnotations" -}}
checksum/config: {{ include "gateway.configData" . | sha256sum }}
checksum/secret: {{ include "gateway.secretData" . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The shared environment of the long-running pods (after envFrom the ConfigMap): the secrets
and the paths of the mounted key files.
*/}}
{{- define "gateway.env" -}}
- name: GATEWAY_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "gateway.secretName" . }}
      key: database-url
- name: GATEWAY_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "gateway.secretName" . }}
      key: broker-url
{{- /* Optional: development generates both keys into the data directory; production refuses
       to start without them, and the schema requires them for an inline production Secret. */}}
- name: GATEWAY_SECRETS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "gateway.secretName" . }}
      key: secrets-key
      optional: true
- name: GATEWAY_AUDIT_ANCHOR_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "gateway.secretName" . }}
      key: audit-anchor-key
      optional: true
{{- if include "gateway.signingEnabled" . }}
- name: GATEWAY_SIGNING_KEY_FILE
  value: /etc/gateway/keys/gateway-key.pem
- name: GATEWAY_SIGNING_CERT_FILE
  value: /etc/gateway/keys/gateway-cert.pem
{{- end }}
{{- end }}

{{/* The rest of a long-running container: config, volumes, security. */}}
{{- define "gateway.containerCommon" -}}
image: {{ include "gateway.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
envFrom:
  - configMapRef:
      name: {{ include "gateway.fullname" . }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
volumeMounts:
  - name: data
    mountPath: /var/lib/gateway
  - name: tmp
    mountPath: /tmp
{{- if include "gateway.signingEnabled" . }}
  - name: keys
    mountPath: /etc/gateway/keys
    readOnly: true
{{- end }}
{{- if include "gateway.trustBundleEnabled" . }}
  - name: trust
    mountPath: /etc/gateway/trust
    readOnly: true
{{- end }}
{{- end }}

{{/* Pod-level settings shared by the long-running pods (under spec.template.spec). */}}
{{- define "gateway.podCommon" -}}
serviceAccountName: {{ include "gateway.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: data
    emptyDir:
      sizeLimit: {{ .Values.dataVolume.sizeLimit }}
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- if include "gateway.signingEnabled" . }}
  - name: keys
    secret:
      secretName: {{ include "gateway.secretName" . }}
      defaultMode: 0440
      items:
        - key: gateway-key.pem
          path: gateway-key.pem
        - key: gateway-cert.pem
          path: gateway-cert.pem
{{- end }}
{{- if include "gateway.trustBundleEnabled" . }}
  - name: trust
    configMap:
      name: {{ default (printf "%s-trust" (include "gateway.fullname" .)) .Values.trustBundle.existingConfigMap }}
      items:
        - key: {{ .Values.trustBundle.key }}
          path: ca-bundle.pem
{{- end }}
{{- end }}
