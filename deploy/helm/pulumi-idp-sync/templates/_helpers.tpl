{{- define "pis.fullname" -}}
{{- printf "%s" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pis.labels" -}}
app.kubernetes.io/name: pulumi-idp-sync
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "pis.env" -}}
- name: SYNC_CONFIG
  value: /etc/pulumi-idp-sync/sync.yaml
{{- range $name, $value := .Values.env }}
{{- if $value }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- range .Values.secretKeys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secretName }}
      key: {{ . }}
{{- end }}
{{- end -}}


{{/* The daemon's readiness port: the internal listener when there is one (it serves /readyz then). */}}
{{- define "pis.daemonProbePort" -}}
{{- if .Values.daemon.internalPort -}}internal{{- else -}}http{{- end -}}
{{- end -}}
