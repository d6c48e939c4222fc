{{/* The controller's settings (also the migrations Job's: the key seals drain URLs). */}}
{{- define "wf.controllerEnv" -}}
- name: WF_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.controller.database.secretName }}, key: {{ .Values.controller.database.secretKey }}}
- name: WF_SECRET_KEY
  valueFrom:
    secretKeyRef: {name: {{ .Values.controller.secretKey.secretName }}, key: {{ .Values.controller.secretKey.secretKey }}}
{{- end }}
