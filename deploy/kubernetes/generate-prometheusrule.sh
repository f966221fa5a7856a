#!/bin/sh
# Writes deploy/kubernetes/prometheusrule.yaml: the PrometheusRule (prometheus-operator) whose
# spec is config/prometheus/gamelift-exporter.rules.yml, indented under `spec:` as it is, comments
# included. Run it after changing the rules file; tests/it/deploy.rs fails while the two differ.
#   --stdout   print it instead of writing the file
set -eu
cd "$(dirname "$0")/../.."
rules=config/prometheus/gamelift-exporter.rules.yml
out=deploy/kubernetes/prometheusrule.yaml
generate() {
    cat <<'HEADER'
# GENERATED from config/prometheus/gamelift-exporter.rules.yml by
# deploy/kubernetes/generate-prometheusrule.sh: edit the rules file, then run the script.
#
# The Prometheus resource must select this PrometheusRule (its ruleSelector and
# ruleNamespaceSelector; the kube-prometheus-stack chart selects the label
# release=<its release name> by default: add it here, or with kustomize's `labels:`).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: gamelift-exporter
  labels:
    app.kubernetes.io/name: gamelift-exporter
spec:
HEADER
    sed -e 's/^\(.\)/  \1/' "$rules"
}
case ${1:-} in
    --stdout) generate ;;
    "") generate >"$out.tmp" && mv "$out.tmp" "$out" ;;
    *) echo "usage: $0 [--stdout]" >&2; exit 2 ;;
esac
