// gamelift-exporter's monitoring mixin: Prometheus recording rules (prometheusRules), alerts
// (prometheusAlerts), the Grafana dashboard (grafanaDashboards) and Alertmanager inhibitions
// (alertmanagerInhibitRules), all from the knobs of config.libsonnet. See README.md here.
(import 'config.libsonnet') +
(import 'rules.libsonnet') +
(import 'alerts.libsonnet') +
(import 'inhibitions.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
