{{/* The release's name for the chart's objects, at most 63 characters. */}}
{{- define "message-hub.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "message-hub.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels that select the hubd pods. */}}
{{- define "message-hub.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: hubd
{{- end -}}

{{/* The Secret and key holding the database URL. */}}
{{- define "message-hub.databaseSecret" -}}
{{- if .Values.database.url -}}
{{- include "message-hub.fullname" . }}-database
{{- else -}}
{{- required "set database.existingSecret or database.url" .Values.database.existingSecret -}}
{{- end -}}
{{- end -}}
{{- define "message-hub.databaseSecretKey" -}}
{{- if .Values.database.url -}}
uri
{{- else -}}
{{- .Values.database.existingSecretKey -}}
{{- end -}}
{{- end -}}

{{- define "message-hub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "message-hub.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "message-hub.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* hubd's settings as HUB_* variables, the database URL from its Secret. */}}
{{- define "message-hub.env" -}}
- name: HUB_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "message-hub.databaseSecret" . }}
      key: {{ include "message-hub.databaseSecretKey" . }}
{{- $poolerKey := ternary "pooler-uri" .Values.database.poolerSecretKey (and (not (empty .Values.database.url)) (not (empty .Values.database.poolerUrl))) }}
{{- if $poolerKey }}
- name: HUB_DATABASE_POOLER_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "message-hub.databaseSecret" . }}
      key: {{ $poolerKey }}
{{- end }}
{{- end -}}

{{/*
The Secrets of the access-control files, the TLS certificate and the client
CA: the one named by existingSecret, else one the chart makes from inline
values, else none (empty).
*/}}
{{- define "message-hub.authSecret" -}}
{{- if .Values.auth.existingSecret -}}
{{- .Values.auth.existingSecret -}}
{{- else if or .Values.auth.tokens .Values.auth.policy -}}
{{- include "message-hub.fullname" . }}-auth
{{- end -}}
{{- end -}}
{{- define "message-hub.tlsSecret" -}}
{{- if .Values.tls.existingSecret -}}
{{- .Values.tls.existingSecret -}}
{{- else if .Values.tls.cert -}}
{{- include "message-hub.fullname" . }}-tls
{{- end -}}
{{- end -}}
{{- define "message-hub.clientCASecret" -}}
{{- if .Values.tls.clientCASecret -}}
{{- .Values.tls.clientCASecret -}}
{{- else if .Values.tls.clientCA -}}
{{- include "message-hub.fullname" . }}-client-ca
{{- end -}}
{{- end -}}

{{/* The keys of the tokens and policy files in the auth Secret; empty: none. */}}
{{- define "message-hub.tokensKey" -}}
{{- if .Values.auth.existingSecret -}}{{ .Values.auth.tokensKey }}{{- else if .Values.auth.tokens -}}tokens{{- end -}}
{{- end -}}
{{- define "message-hub.policyKey" -}}
{{- if .Values.auth.existingSecret -}}{{ .Values.auth.policyKey }}{{- else if .Values.auth.policy -}}policy{{- end -}}
{{- end -}}

{{/* The access-control files, when there is an auth Secret. */}}
{{- define "message-hub.authEnv" -}}
{{- if include "message-hub.authSecret" . }}
{{- if include "message-hub.tokensKey" . }}
- name: HUB_TOKENS_FILE
  value: /etc/hub/auth/tokens
{{- end }}
{{- if include "message-hub.policyKey" . }}
- name: HUB_POLICY_FILE
  value: /etc/hub/auth/policy
{{- end }}
{{- end }}
{{- end -}}
