#!/bin/sh
# Renders the monitoring mixin (mixin/*.libsonnet, knobs in mixin/config.libsonnet) into the
# committed files: the Prometheus rules, the opt-in rules, the Kubernetes PrometheusRule, the
# Grafana dashboard and the Alertmanager inhibitions (mixin/render/lib.libsonnet lists them).
#   mixin/generate.sh            write them in place
#   mixin/generate.sh --out DIR  write them under DIR instead (the tests compare DIR with the repo)
# Needs jsonnet (Debian: apt-get install jsonnet; the C++ or the Go implementation).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root
case ${1:-} in
    --out) out=${2:?usage: $0 [--out DIR]} ;;
    "") ;;
    *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
esac
lib=$root/mixin/render/lib.libsonnet
jsonnet -e "std.objectFields(import '$lib')" | sed -n 's/^ *"\(.*\)",\{0,1\}$/\1/p' | while read -r file; do
    mkdir -p "$(dirname "$out/$file")"
    case $file in
        *.json) jsonnet -e "(import '$lib')['$file']" >"$out/$file.tmp" ;;
        *) jsonnet -S -e "(import '$lib')['$file']" >"$out/$file.tmp" ;;
    esac
    mv "$out/$file.tmp" "$out/$file"
    echo "$file"
done
