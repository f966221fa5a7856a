// The knobs of the gamelift-exporter mixin. Override any of them from your own jsonnet:
//
//   (import 'gamelift-exporter/mixin/mixin.libsonnet') + {
//     _config+:: {
//       jobSelector: 'job="gamelift"',
//       runbookBaseUrl: 'https://wiki.example.com/gamelift-exporter/runbooks.md',
//       groups+: { openSlots: true },
//       openSlotsSelector: 'fleet_id=~"fleet-1234.*"',
//     },
//   }
//
// The committed files (config/prometheus/*.rules.yml, grafana/gamelift-exporter.json,
// deploy/kubernetes/components/prometheusrule/prometheusrule.yaml, config/alertmanager/*) are
// these defaults rendered by mixin/generate.sh; tests/it/operator_kit/mixin.rs fails while they
// differ from what the mixin renders. README, "Alerts, rules and dashboard: one source", lists
// every knob.
{
  _config+:: {
    // Selects the exporter's scrape targets in every rule, alert and dashboard query.
    jobSelector: 'job="gamelift-exporter"',
    // The labels every aggregation and join keeps besides its own (fleet_id, location, queue,
    // ...), where the series have them: the scrape target, and its namespace on Kubernetes. An
    // alert then carries the same target labels as the series it is about, which is what the
    // Alertmanager inhibitions compare (`equal:`).
    groupLabels: 'namespace, job, instance',
    // Where the runbooks are served: every alert's runbook_url is this URL + '#' + the alert's
    // name in lower case (the anchors of docs/runbooks.md). Point it at the docs/runbooks.md your
    // on-call can open: your Git host's page of the file, or an internal copy.
    runbookBaseUrl: 'https://gamelift-exporter.example/docs/runbooks.md',

    // Which alert groups are rendered. openSlots is opt-in: it fires permanently for games whose
    // sessions are DENY_ALL or full by design (fixed-size matches); enable it with a
    // openSlotsSelector naming the fleets that backfill into running sessions.
    groups: {
      exporter: true,
      interruptions: true,
      fleetEvents: true,
      capacity: true,
      placements: true,
      openSlots: false,
    },
    // Extra matchers for the open-slots alert, e.g. 'fleet_id=~"fleet-a.*|fleet-b.*"'.
    openSlotsSelector: '',

    // The exporter's [sweep] interval and capacity_interval, in seconds: the windows and `for:`
    // below are multiples of them, and GameLiftExporterEffectiveIntervalHigh fires when an
    // account-Region's effective interval exceeds sweepIntervalSeconds.
    sweepIntervalSeconds: 60,
    capacityIntervalSeconds: 60,

    // Exporter health.
    exporterDownFor: '5m',  // a target whose scrapes fail (up == 0) this long
    fleetDownFor: '10m',
    fleetEventsDownFor: '15m',  // a fleet whose events polls fail (its sessions still publish)
    fleetStaleIntervals: 5,  // live intervals without a complete live pass
    capacityStaleIntervals: 5,  // capacity intervals without a complete capacity cycle
    fullPassOverdueHours: 3,
    throttledRatio: 0.1,

    // Spot interruptions: a single interrupted session or reclaim notice is an info notice; a
    // burst of reclaimed instances in one fleet warns; a large share of a location's sessions
    // interrupted pages.
    spotBurstInstances: 3,  // INSTANCE_INTERRUPTED notices in one fleet within 10 minutes
    spotMassiveRatio: 0.25,  // interrupted / (ACTIVE + interrupted) of a location over 10 minutes

    // Fleet events.
    crashLoopCrashes: 5,  // SERVER_PROCESS_CRASHED in 15 minutes (and still crashing)
    activationTimeouts: 3,  // GAME_SESSION_ACTIVATION_TIMEOUT in 15 minutes
    unhealthyReplacements: 3,  // unhealthy replacements in 30 minutes

    // Capacity.
    atMaximumCapacityFor: '5m',
    capacityNotRecoveringFor: '15m',

    // Placements (the [events] reader).
    placementFailureRatio: 0.1,
    placementMinimum: 20,  // placements in 15 minutes before the ratio or the latency can fire
    placementLatencySeconds: 30,  // keep it a bucket boundary of gamelift_placement_duration_seconds
  },
}
