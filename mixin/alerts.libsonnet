// The alerts, in groups that _config.groups switches on and off. Every alert gets a
// runbook_url (lib/util.libsonnet) pointing at its heading in docs/runbooks.md, which says what it
// means, what to check first on systemd and on Kubernetes, and how to silence it safely.
//
// Adding an alert (mixin/README.md, "Adding an alert"): put it in the group it belongs to below,
// with `severity` and the summary and description annotations, aggregating `by (%(gl)s, ...)`
// and selecting `{%(sel)s}` like its neighbours; add its `## <AlertName>` section to
// docs/runbooks.md; run mixin/generate.sh; add promtool cases (fires, stays silent, exporter
// restart) to config/prometheus/gamelift-exporter.rules.test.yml. The tests list what is missing.
local util = import 'lib/util.libsonnet';
local fold = util.fold;

{
  local c = $._config,
  // The format arguments of the expressions: `%(sel)s` is the job selector, `%(gl)s` the labels
  // every aggregation keeps, and the thresholds by their _config names.
  local f = c { sel: c.jobSelector, gl: c.groupLabels },
  local str = std.toString,
  local percent(ratio) = str(ratio * 100) + '%',

  local exporterAlerts = [
    // One target down. `up` is per scrape target, so with several exporters in one job (the
    // template unit, one Deployment per account group) each one that fails is its own alert, and
    // the others keep theirs. A restart shorter than `for:` does not fire.
    {
      alert: 'GameLiftExporterDown',
      expr: 'up{%(sel)s} == 0' % f,
      'for': c.exporterDownFor,
      labels: { severity: 'critical' },
      annotations: {
        summary: 'gamelift-exporter target {{ $labels.instance }} is down',
        description: fold(|||
          Prometheus has failed to scrape {{ $labels.instance }} of job {{ $labels.job }} for %(exporterDownFor)s.
          No alert about the fleets it watches can fire meanwhile.
        ||| % f),
      },
    },
    // No target at all: the job is not scraped (its service discovery finds nothing, the scrape
    // config is gone). `up` is absent then, not 0, so GameLiftExporterDown cannot see it.
    {
      alert: 'GameLiftExporterAbsent',
      expr: 'absent(up{%(sel)s})' % f,
      'for': c.exporterDownFor,
      labels: { severity: 'critical' },
      annotations: {
        summary: 'gamelift-exporter is not scraped',
        description: fold(|||
          Prometheus has had no target of {%(sel)s} for %(exporterDownFor)s. No GameLift alert can fire meanwhile.
        ||| % f),
      },
    },
    // An account whose role cannot be assumed, or whose discovery fails: it publishes no fleet
    // series at all, so no fleet alert can fire for it. Ten minutes: discovery retries at once
    // after a failure and every discovery_interval (10m); a start before the first discovery
    // shows 0 for seconds.
    {
      alert: 'GameLiftExporterAccountDown',
      expr: 'gamelift_exporter_account_up{%(sel)s} == 0' % f,
      'for': '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter cannot read AWS account {{ $labels.account }}',
        description: fold(|||
          {{ $labels.instance }} has not been able to use account {{ $labels.account }} (assume its role,
          or discover its fleets in every Region) for 10 minutes. Its fleets are not watched: no fleet
          alert can fire for them.
        |||),
      },
    },
    // SIGHUP or POST /-/reload with a file that does not load: the previous configuration keeps
    // running, and the next restart will not start at all (exit 2). max_over_time: a reload
    // that failed and was fixed within 5 minutes does not fire.
    {
      alert: 'GameLiftExporterConfigReloadFailed',
      expr: 'max_over_time(gamelift_exporter_config_last_reload_successful{%(sel)s}[5m]) == 0' % f,
      'for': '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter {{ $labels.instance }} runs an older configuration: the last reload failed',
        description: fold(|||
          The last configuration reload of {{ $labels.instance }} failed and its previous configuration is
          still running, for 10 minutes. A restart with the file as it is will fail (exit status 2).
        |||),
      },
    },
    // The state file (interruption ledger, event positions) could not be written: a restart
    // now loses what was counted since the last good write, and may count it twice. Every
    // failure counts; it clears 15 minutes after the last one.
    {
      alert: 'GameLiftExporterStateWriteFailures',
      expr: 'increase(gamelift_exporter_state_write_failures_total{%(sel)s}[15m]) > 0' % f,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter {{ $labels.instance }} cannot write its state file',
        description: fold(|||
          {{ $value | printf "%.0f" }} write(s) of the state file of {{ $labels.instance }} failed in the
          last 15 minutes. Until a write succeeds, a restart forgets the interruptions and events counted
          since the last good write.
        |||),
      },
    },
    // The budgets cannot pay for [sweep] interval: the account-Region stretches its live passes
    // (the exporter logs it). Its fleets are seen less often than configured, interruption alerts
    // come later. The configured interval is not a metric: it is sweepIntervalSeconds here,
    // which must match the exporter's config. `for: 30m`: the effective interval is recomputed
    // at every discovery; a stretch that lasts is a budget to raise, not a blip.
    {
      alert: 'GameLiftExporterEffectiveIntervalHigh',
      expr: 'gamelift_exporter_effective_interval_seconds{%(sel)s} > %(sweepIntervalSeconds)s' % f,
      'for': '30m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter sweeps account {{ $labels.account }} in {{ $labels.region }} slower than configured',
        description: fold(|||
          The live passes of account {{ $labels.account }} in {{ $labels.region }} run every {{ $value |
          humanizeDuration }}, not every %(sweepIntervalSeconds)ss as configured, for 30 minutes: the request
          budgets cannot pay for that many fleets at that interval.
        ||| % f),
      },
    },
    {
      alert: 'GameLiftExporterFleetDown',
      expr: 'gamelift_exporter_fleet_up{%(sel)s} == 0' % f,
      'for': c.fleetDownFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter cannot read fleet {{ $labels.fleet_id }}',
        description: fold(|||
          The last sweeps of fleet {{ $labels.fleet_id }} by {{ $labels.instance }} failed for 10 minutes;
          its game-session metrics are stale or missing.
        |||),
      },
    },
    // The fleet's events poll (DescribeFleetEvents, in every live pass) fails while its
    // session listings succeed: a missing IAM action, or throttling of that one operation. The
    // sessions still publish (fleet_up stays 1), so GameLiftExporterFleetDown cannot see it, but
    // fleet events, the alerts on them and the interruption lookups they trigger wait for a
    // complete poll (which reads the missed window again). `for: 15m` (fleetEventsDownFor):
    // fifteen live passes; a throttling blip of a few passes only delays the events, while
    // fifteen minutes without them outlast every two-minute spot notice. Absent until the
    // fleet's first live pass, so a restart does not fire it; the gauge keeps its last value
    // while whole live passes fail, which GameLiftExporterFleetDown explains (inhibition).
    {
      alert: 'GameLiftExporterFleetEventsDown',
      expr: 'gamelift_exporter_fleet_events_up{%(sel)s} == 0' % f,
      'for': c.fleetEventsDownFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter cannot read the events of fleet {{ $labels.fleet_id }}',
        description: fold(|||
          The events polls (DescribeFleetEvents) of fleet {{ $labels.fleet_id }} by {{ $labels.instance }} have
          failed for %(fleetEventsDownFor)s. Its game-session series still publish, but its fleet events, the
          alerts on them (spot notices, crashes, unhealthy replacements) and the spot-interruption lookups they
          trigger are delayed until a poll completes; interrupted sessions are still counted by the hourly full
          pass. Most likely the IAM policy lacks gamelift:DescribeFleetEvents, or that operation is throttled.
        ||| % f),
      },
    },
    // No complete live pass for fleetStaleIntervals live intervals (5 x 60s); keep it at 3 or more.
    {
      alert: 'GameLiftExporterFleetStale',
      expr: 'time() - gamelift_exporter_fleet_last_success_timestamp_seconds{%(sel)s} > %(fleetStaleIntervals)s * %(sweepIntervalSeconds)s' % f,
      'for': '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter data for fleet {{ $labels.fleet_id }} is stale',
        description: fold(|||
          The last successful sweep of fleet {{ $labels.fleet_id }} by {{ $labels.instance }} was {{
          $value | humanizeDuration }} ago (more than %(fleetStaleIntervals)s sweep intervals of %(sweepIntervalSeconds)ss).
        ||| % f),
      },
    },
    // Capacity (instance counts, utilization) is read every capacity_interval, apart from the
    // live passes; a fleet whose capacity cycle has not completed for capacityStaleIntervals
    // intervals shows numbers that old (and they are dropped after stale_after). Per fleet and
    // kind (instances, utilization). No series at all with capacity_interval = "0s".
    {
      alert: 'GameLiftExporterCapacityStale',
      expr: 'time() - gamelift_exporter_fleet_capacity_last_success_timestamp_seconds{%(sel)s} > %(capacityStaleIntervals)s * %(capacityIntervalSeconds)s' % f,
      'for': '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter capacity data ({{ $labels.kind }}) for fleet {{ $labels.fleet_id }} is stale',
        description: fold(|||
          The last complete capacity cycle ({{ $labels.kind }}) of fleet {{ $labels.fleet_id }} by {{
          $labels.instance }} ended {{ $value | humanizeDuration }} ago (more than %(capacityStaleIntervals)s capacity
          intervals of %(capacityIntervalSeconds)ss). The capacity alerts and panels see numbers that old.
        ||| % f),
      },
    },
    // Each fleet's full pass (TERMINATED and ERROR counts, interruptions the live pass did not
    // look up) runs every history_interval (1h). A large fleet's pass may take over an hour at its
    // share of the request budget, so 3h is history_interval + a long pass + margin: older than
    // that, the pass is failing or cannot keep up. Absent until a fleet's first full pass
    // completes, so a restart never fires it.
    {
      alert: 'GameLiftExporterFullPassOverdue',
      expr: 'time() - gamelift_exporter_fleet_last_full_pass_timestamp_seconds{%(sel)s} > %(fullPassOverdueHours)s * 3600' % f,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter has not completed a full pass of fleet {{ $labels.fleet_id }} for over %(fullPassOverdueHours)s hours' % f,
        description: fold(|||
          The last complete full pass of fleet {{ $labels.fleet_id }} by {{ $labels.instance }} ended {{
          $value | humanizeDuration }} ago. Its TERMINATED and ERROR counts are that old, and
          interruptions the live passes did not look up are not counted yet.
        |||),
      },
    },
    {
      alert: 'GameLiftExporterFullPassMissing',
      expr: 'gamelift_fleet_info{%(sel)s} unless on (%(gl)s, fleet_id) gamelift_exporter_fleet_last_full_pass_timestamp_seconds{%(sel)s}' % f,
      'for': '%(fullPassOverdueHours)sh' % f,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter has not completed a first full pass of fleet {{ $labels.fleet_id }} in over %(fullPassOverdueHours)s hours' % f,
        description: fold(|||
          {{ $labels.instance }} has known fleet {{ $labels.fleet_id }} ({{ $labels.fleet_name }}) for
          over %(fullPassOverdueHours)s hours without completing a full pass since it started: the fleet's TERMINATED and ERROR
          counts are not published, and interruptions the live passes did not look up are not counted yet.
          (GameLiftExporterFullPassOverdue covers a full pass that stops completing later; this covers the
          first one after a start, which has no timestamp to be late by.)
        ||| % f),
      },
    },
    // GameLift's quotas are per account, Region and operation, shared with the game's backend.
    {
      alert: 'GameLiftApiThrottlingSustained',
      expr: |||
        (
            sum by (%(gl)s, account, region, operation) (rate(gamelift_exporter_api_request_failures_total{%(sel)s,reason="throttled"}[10m]))
          or
            0 * sum by (%(gl)s, account, region, operation) (rate(gamelift_exporter_api_requests_total{%(sel)s}[10m]))
        )
          /
        (sum by (%(gl)s, account, region, operation) (rate(gamelift_exporter_api_requests_total{%(sel)s}[10m])) > 0)
        > %(throttledRatio)s
      ||| % f,
      'for': '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'GameLift API throttles gamelift-exporter ({{ $labels.operation }})',
        description: fold(|||
          {{ $value | humanizePercentage }} of the {{ $labels.operation }} requests of {{ $labels.instance
          }} were throttled over the last 10 minutes, for 15 minutes. Sweeps get slower and data older.
        |||),
      },
    },
  ],

  // Interrupted share of a location's sessions over 10 minutes: interrupted / (still ACTIVE +
  // interrupted). The `or ... * 0` term keeps a location whose sessions were all interrupted (no
  // ACTIVE series left) at 100% instead of dropping it; `> 0` guards the division. The recording
  // rule fleet_location:gamelift_game_session_interrupted:ratio10m is the same expression.
  interruptedRatio:: |||
    sum by (%(gl)s, fleet_id, location) (increase(gamelift_game_session_interruptions_total{%(sel)s}[10m]))
      /
    (
      (
          sum by (%(gl)s, fleet_id, location) (gamelift_game_sessions{%(sel)s,status="ACTIVE"})
        or
          0 * sum by (%(gl)s, fleet_id, location) (gamelift_game_session_interruptions_total{%(sel)s})
      )
      + on (%(gl)s, fleet_id, location)
      sum by (%(gl)s, fleet_id, location) (increase(gamelift_game_session_interruptions_total{%(sel)s}[10m]))
      > 0
    )
  ||| % f,

  // Interruptions are counted by the live pass that first sees the sessions gone, so these fire
  // at most one live interval (+ scrape and evaluation interval) after the sessions ended: no
  // `for:`, every increase is real, waiting would only delay it. A few interrupted sessions are
  // the normal cost of Spot: single ones are info notices, a burst of reclaimed instances warns,
  // a large share of a location's sessions pages.
  local interruptionAlerts = [
    // The two-minute spot notice: GameLift reports INSTANCE_INTERRUPTED when EC2 announces it
    // will reclaim the instance; its sessions end about two minutes later.
    {
      alert: 'GameLiftSpotInstanceInterrupted',
      expr: 'increase(gamelift_fleet_events_total{%(sel)s,event_code="INSTANCE_INTERRUPTED"}[10m]) > 0' % f,
      labels: { severity: 'info' },
      annotations: {
        summary: 'Spot instance reclaim notice in GameLift fleet {{ $labels.fleet_id }}',
        description: fold(|||
          {{ $value | printf "%.0f" }} INSTANCE_INTERRUPTED event(s) in fleet {{ $labels.fleet_id }} in
          the last 10 minutes: EC2 gave its two-minute notice and will reclaim Spot capacity. The game
          sessions on those instances end about two minutes after the notice.
        |||),
      },
    },
    // Every interrupted session, as a notice: info, routed to a channel, never a page.
    {
      alert: 'GameLiftSpotInterruptions',
      expr: 'increase(gamelift_game_session_interruptions_total{%(sel)s}[10m]) > 0' % f,
      labels: { severity: 'info' },
      annotations: {
        summary: 'Spot interruptions in GameLift fleet {{ $labels.fleet_id }} ({{ $labels.location }})',
        description: fold(|||
          {{ $value | printf "%.0f" }} game session(s) of fleet {{ $labels.fleet_id }} in {{ $labels.location }}
          ended with status reason INTERRUPTED in the last 10 minutes: EC2 reclaimed Spot capacity and
          the players were disconnected.
        |||),
      },
    },
    // A wave: several instances of one fleet reclaimed within 10 minutes (each notice is one
    // instance, whatever its sessions), more than the occasional reclaim Spot costs.
    {
      alert: 'GameLiftSpotInterruptionBurst',
      expr: 'sum by (%(gl)s, fleet_id) (increase(gamelift_fleet_events_total{%(sel)s,event_code="INSTANCE_INTERRUPTED"}[10m])) >= %(spotBurstInstances)s' % f,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Burst of Spot reclaims in GameLift fleet {{ $labels.fleet_id }}',
        description: fold(|||
          EC2 announced the reclaim of {{ $value | printf "%%.0f" }} Spot instances of fleet {{ $labels.fleet_id }}
          in the last 10 minutes (%(spotBurstInstances)s or more): Spot capacity of its instance type is going, not one
          instance now and then.
        ||| % f),
      },
    },
    {
      alert: 'GameLiftSpotInterruptionsMassive',
      expr: $.interruptedRatio + '>= %(spotMassiveRatio)s\n' % f,
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Mass Spot interruption in GameLift fleet {{ $labels.fleet_id }} ({{ $labels.location }})',
        description: fold(|||
          {{ $value | humanizePercentage }} of the game sessions of fleet {{ $labels.fleet_id }} in {{ $labels.location }}
          (interrupted / (active + interrupted)) were interrupted in the last 10 minutes. Players are
          being dropped at scale.
        |||),
      },
    },
  ],

  local fleetEventAlerts = [
    // A crash loop, not a crash: one SERVER_PROCESS_CRASHED now and then is a game-server bug to
    // fix in office hours. At least 5 in 15 minutes, with crashes still coming in every 5-minute
    // window for 5 minutes, is a build or a config that keeps crashing (GameLift restarts the
    // process and it crashes again). A single burst (one instance's processes at once) stops
    // matching the second condition before `for:` elapses.
    {
      alert: 'GameLiftServerProcessCrashLoop',
      expr: |||
        increase(gamelift_fleet_events_total{%(sel)s,event_code="SERVER_PROCESS_CRASHED"}[15m]) >= %(crashLoopCrashes)s
          and
        increase(gamelift_fleet_events_total{%(sel)s,event_code="SERVER_PROCESS_CRASHED"}[5m]) > 0
      ||| % f,
      'for': '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Game server processes keep crashing in GameLift fleet {{ $labels.fleet_id }}',
        description: fold(|||
          {{ $value | printf "%.0f" }} SERVER_PROCESS_CRASHED events in fleet {{ $labels.fleet_id }} in
          the last 15 minutes, for 5 minutes. Server processes crash and GameLift restarts them; sessions
          on them are lost and capacity shrinks.
        |||),
      },
    },
    // Each activation timeout is a placement that players waited for and that produced no
    // session: the process did not call ActivateGameSession in time. One can happen at a load
    // peak; 3 in 15 minutes is a pattern.
    {
      alert: 'GameLiftGameSessionActivationTimeouts',
      expr: 'increase(gamelift_fleet_events_total{%(sel)s,event_code="GAME_SESSION_ACTIVATION_TIMEOUT"}[15m]) >= %(activationTimeouts)s' % f,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Game sessions fail to activate in GameLift fleet {{ $labels.fleet_id }}',
        description: fold(|||
          {{ $value | printf "%.0f" }} GAME_SESSION_ACTIVATION_TIMEOUT events in fleet {{ $labels.fleet_id }}
          in the last 15 minutes: game sessions were created but their server process did not activate
          them in time, so the players waiting for them got nothing.
        |||),
      },
    },
    // GameLift replaces instances and terminates processes that stop reporting healthy. One is
    // routine; 3 in 30 minutes points at a hang, a leak, or an instance type that is too small.
    {
      alert: 'GameLiftUnhealthyReplacements',
      expr: |||
        sum by (%(gl)s, fleet_id) (
          increase(gamelift_fleet_events_total{%(sel)s,event_code=~"INSTANCE_REPLACED_UNHEALTHY|SERVER_PROCESS_TERMINATED_UNHEALTHY"}[30m])
        ) >= %(unhealthyReplacements)s
      ||| % f,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'GameLift replaces unhealthy instances or processes in fleet {{ $labels.fleet_id }}',
        description: fold(|||
          {{ $value | printf "%.0f" }} INSTANCE_REPLACED_UNHEALTHY or SERVER_PROCESS_TERMINATED_UNHEALTHY
          events in fleet {{ $labels.fleet_id }} in the last 30 minutes: servers stopped reporting healthy
          and GameLift terminated or replaced them, with their sessions.
        |||),
      },
    },
  ],

  // Capacity series are refreshed every capacity_interval (60s): the `for:` below are counted
  // in those refreshes.
  local capacityAlerts = [
    // The fleet cannot take one more player in this location: every ACTIVE session is full (no
    // open slot), no server process is free for a new session, and the location already runs its
    // maximum number of instances, so autoscaling cannot add one. ">=" also covers a maximum just
    // lowered below ACTIVE. MAXIMUM 0 is a location scaled to zero on purpose. The free-process
    // guard keeps fixed-size fleets (MINIMUM = DESIRED = MAXIMUM) silent while they have room for
    // new sessions, e.g. at night with no session at all; container fleets (no utilization) use
    // their IDLE game server container groups instead. `for: 5m`: five capacity refreshes and five
    // live passes, so a peak that a session ending or a process freeing up relieves does not page,
    // while players who cannot be placed wait no longer than a typical queue timeout.
    {
      alert: 'GameLiftFleetAtMaximumCapacity',
      expr: |||
        sum by (%(gl)s, fleet_id, location) (gamelift_fleet_instances{%(sel)s,state="ACTIVE"})
          >= on (%(gl)s, fleet_id, location)
        sum by (%(gl)s, fleet_id, location) (gamelift_fleet_instances{%(sel)s,state="MAXIMUM"})
          and on (%(gl)s, fleet_id, location)
        sum by (%(gl)s, fleet_id, location) (gamelift_fleet_instances{%(sel)s,state="MAXIMUM"}) > 0
          and on (%(gl)s, fleet_id, location)
        sum by (%(gl)s, fleet_id, location) (gamelift_game_session_open_slots{%(sel)s}) == 0
          unless on (%(gl)s, fleet_id, location)
        (
            sum by (%(gl)s, fleet_id, location) (gamelift_fleet_active_server_processes{%(sel)s})
          - on (%(gl)s, fleet_id, location)
            sum by (%(gl)s, fleet_id, location) (gamelift_fleet_active_game_sessions{%(sel)s})
        ) > 0
          unless on (%(gl)s, fleet_id, location)
        sum by (%(gl)s, fleet_id, location) (gamelift_fleet_game_server_container_groups{%(sel)s,state="IDLE"}) > 0
      ||| % f,
      'for': c.atMaximumCapacityFor,
      labels: { severity: 'critical' },
      annotations: {
        summary: 'GameLift fleet {{ $labels.fleet_id }} is full at its maximum capacity ({{ $labels.location }})',
        description: fold(|||
          Fleet {{ $labels.fleet_id }} in {{ $labels.location }} runs {{ $value | printf "%.0f" }} ACTIVE
          instance(s), its maximum, with no open player slot in its game sessions and no free server
          process for a new one, for 5 minutes. Autoscaling cannot add an instance: new players in this
          location are not placed (queue timeouts, failed matchmaking).
        |||),
      },
    },
    // A location in ERROR failed to download, validate, build or activate: GameLift does not
    // retry, it hosts nothing until the location is removed and added again. A final state, so
    // no `for:`. A fleet in ERROR has its own alert (GameLiftFleetError): it has no location and
    // another cause (the build or the fleet configuration); its locations' ERROR is implied and
    // left to that one alert.
    {
      alert: 'GameLiftFleetLocationError',
      expr: |||
        sum by (%(gl)s, fleet_id, location) (gamelift_fleet_location_status{%(sel)s,status="ERROR"}) == 1
          unless on (%(gl)s, fleet_id)
        sum by (%(gl)s, fleet_id) (gamelift_fleet_status{%(sel)s,status="ERROR"}) == 1
      ||| % f,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'GameLift fleet {{ $labels.fleet_id }} is in ERROR in location {{ $labels.location }}',
        description: fold(|||
          Location {{ $labels.location }} of fleet {{ $labels.fleet_id }} has status ERROR
          (DescribeFleetLocationAttributes): setting it up failed, it has no capacity and hosts no game
          session. Queues route its players to other locations or fleets.
        |||),
      },
    },
    // The whole fleet in ERROR (its home Region): the build or the fleet configuration failed to
    // activate. Usually a new fleet of a deployment, so players keep playing on the old one; no
    // `for:`, a final state.
    {
      alert: 'GameLiftFleetError',
      expr: 'sum by (%(gl)s, fleet_id) (gamelift_fleet_status{%(sel)s,status="ERROR"}) == 1' % f,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'GameLift fleet {{ $labels.fleet_id }} is in ERROR',
        description: fold(|||
          Fleet {{ $labels.fleet_id }} has status ERROR (DescribeFleetAttributes): downloading,
          validating, building or activating it failed. It hosts no game session in any location.
        |||),
      },
    },
    // Spot capacity that does not come back: ACTIVE instances below DESIRED in a location of a
    // fleet that had an INSTANCE_INTERRUPTED notice in the last 6 hours. GameLift replaces a
    // reclaimed instance: it is PENDING, then ACTIVE once its server processes are ready,
    // usually within 5-10 minutes. Fleet events have no location, so the join is on fleet_id and
    // every short location of an interrupted fleet fires. `for: 15m` (fifteen capacity
    // refreshes): a replacement, or a scale-out that an interruption happens to meet, has had
    // time to finish. The 6h window outlasts any replacement by far; after 6h without a new
    // notice the alert resolves even if the capacity never came back (by then it has fired for
    // 5h45m).
    {
      alert: 'GameLiftCapacityNotRecovering',
      expr: |||
        sum by (%(gl)s, fleet_id, location) (gamelift_fleet_instances{%(sel)s,state="DESIRED"})
          - on (%(gl)s, fleet_id, location)
        sum by (%(gl)s, fleet_id, location) (gamelift_fleet_instances{%(sel)s,state="ACTIVE"})
          > 0
        and on (%(gl)s, fleet_id)
        sum by (%(gl)s, fleet_id) (increase(gamelift_fleet_events_total{%(sel)s,event_code="INSTANCE_INTERRUPTED"}[6h])) > 0
      ||| % f,
      'for': c.capacityNotRecoveringFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Capacity of GameLift fleet {{ $labels.fleet_id }} does not recover after a spot interruption ({{ $labels.location }})',
        description: fold(|||
          Fleet {{ $labels.fleet_id }} in {{ $labels.location }} has been {{ $value | printf "%.0f" }}
          ACTIVE instance(s) short of its DESIRED count for 15 minutes, within 6 hours of a spot
          interruption (INSTANCE_INTERRUPTED) in the fleet. GameLift has not replaced the reclaimed
          capacity.
        |||),
      },
    },
  ],

  // Opt-in (_config.groups.openSlots): no open slot is normal for DENY_ALL sessions and for
  // matches that are full by design; scope it to the fleets that backfill with
  // _config.openSlotsSelector.
  local openSlotsSel = c.jobSelector + (if c.openSlotsSelector == '' then '' else ',' + c.openSlotsSelector),
  local openSlotsAlerts = [
    {
      alert: 'GameLiftFleetOutOfOpenSlots',
      expr: |||
        sum by (%(gl)s, fleet_id, location) (gamelift_game_session_open_slots{%(os)s}) == 0
          and on (%(gl)s, fleet_id, location)
        sum by (%(gl)s, fleet_id, location) (gamelift_game_sessions{%(os)s,status="ACTIVE"}) > 0
      ||| % (f { os: openSlotsSel }),
      'for': '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'No open player slots in GameLift fleet {{ $labels.fleet_id }} ({{ $labels.location }})',
        description: fold(|||
          Fleet {{ $labels.fleet_id }} in {{ $labels.location }} has ACTIVE game sessions but none of them
          has an open player slot, for 10 minutes. Matchmaking/backfill into existing sessions cannot
          succeed; new players need new sessions.
        |||),
      },
    },
  ],

  // Placements and matchmaking: events read from SQS ([events]); without them these stay silent.
  local placementAlerts = [
    // Each failed or timed-out placement is a group of players who asked for a game and got none,
    // after waiting up to the queue's timeout. A healthy queue fulfils nearly all of them; 10%
    // over 15 minutes is a capacity or server problem, not bad luck. At least 20 placements in
    // the window (about 1.3 a minute), so that 1 failure of 2, or 2 of 10, on a quiet queue does
    // not page: with a tolerable 2% failure rate, 3 or more of 20 happens less than 1% of the
    // time. `for: 5m`, on top of a window that already smooths: timeouts arrive up to the
    // queue's timeout (default 10 minutes) after their start, so waiting longer only delays the
    // news.
    {
      alert: 'GameLiftPlacementFailureRatioHigh',
      expr: |||
        sum by (%(gl)s, queue) (increase(gamelift_placements_total{%(sel)s,outcome=~"failed|timed_out"}[15m]))
          /
        (sum by (%(gl)s, queue) (increase(gamelift_placements_total{%(sel)s}[15m])) > 0)
        > %(placementFailureRatio)s
          and on (%(gl)s, queue)
        sum by (%(gl)s, queue) (increase(gamelift_placements_total{%(sel)s}[15m])) >= %(placementMinimum)s
      ||| % f,
      'for': '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'GameLift placements fail or time out in queue {{ $labels.queue }}',
        description: fold(|||
          {{ $value | humanizePercentage }} of the game session placements of queue {{ $labels.queue }}
          that ended in the last 15 minutes failed or timed out, for 5 minutes: those players asked for a
          game and got none.
        |||),
      },
    },
    // How long players wait for a game session once the placement started. Fulfilled placements
    // only: a timed-out one lasts the queue's timeout by definition (the failure ratio counts
    // those). With free server processes GameLift places in seconds; 30 s is a placement that
    // waited for capacity, and players notice. 30 is a bucket boundary of the histogram, so "p95 >
    // 30" means exactly "more than 5% of the fulfilled placements took longer than 30 s". At least
    // 20 fulfilled placements in 15 minutes: the 95th percentile of a handful is the slowest one.
    // `for: 5m` lets a short scale-out catch up without paging.
    {
      alert: 'GameLiftPlacementLatencyHigh',
      expr: |||
        histogram_quantile(0.95,
          sum by (%(gl)s, queue, le) (rate(gamelift_placement_duration_seconds_bucket{%(sel)s,outcome="fulfilled"}[15m]))
        ) > %(placementLatencySeconds)s
          and on (%(gl)s, queue)
        sum by (%(gl)s, queue) (increase(gamelift_placement_duration_seconds_count{%(sel)s,outcome="fulfilled"}[15m])) >= %(placementMinimum)s
      ||| % f,
      'for': '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'GameLift placements are slow in queue {{ $labels.queue }}',
        description: fold(|||
          The 95th percentile of the time fulfilled placements of queue {{ $labels.queue }} took (start to
          game session) over the last 15 minutes is {{ $value | humanizeDuration }}, above %(placementLatencySeconds)s seconds, for
          5 minutes: more than one placement in 20 waits that long.
        ||| % f),
      },
    },
    // The events stop arriving while the fleets keep starting sessions: the EventBridge rule or
    // SNS subscription, the SQS queue policy, or the exporter's reader is broken, and the
    // placement alerts above are blind. "Sessions are being started" is
    // instance:gamelift_game_sessions_started:increase15m (ACTIVE change + sessions ended, see the
    // recording rule), not sessions ended alone (a fleet draining at night ends sessions and
    // starts none) nor ACTIVATING (a state that lasts seconds). Every session a queue places
    // brings a PlacementFulfilled event, so 10 started sessions (one every 90 s) in 15 minutes
    // without a single placement counted is no coincidence. `for: 5m`: fires 20 minutes after the
    // last placement counted at the earliest. Per exporter: events carry queue names, the session
    // series fleet ids, and nothing joins the two. Silent where the exporter reads no events (no
    // gamelift_placements_total series at all). Sessions created without a queue count as started
    // too: if some fleets are not behind a queue, restrict the session series to those that are.
    {
      alert: 'GameLiftEventsStalled',
      expr: |||
        (
            sum by (%(gl)s) (delta(gamelift_game_sessions{%(sel)s,status="ACTIVE"}[15m]))
          +
            sum by (%(gl)s) (increase(gamelift_game_sessions_ended_total{%(sel)s}[15m]))
        ) >= 10
          and on (%(gl)s)
        sum by (%(gl)s) (increase(gamelift_placements_total{%(sel)s}[15m])) == 0
      ||| % f,
      'for': '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'gamelift-exporter receives no placement events while sessions start',
        description: fold(|||
          {{ $labels.instance }} counted no game session placement in the last 15 minutes, for 5 minutes,
          while its fleets started about {{ $value | printf "%.0f" }} game sessions in that time. The
          placement and matchmaking metrics are stale and their alerts blind.
        |||),
      },
    },
  ],

  // Every alert group, whether on or off (the tests read the names from here).
  alertGroups:: [
    { key: 'exporter', name: 'gamelift-exporter.exporter', rules: exporterAlerts },
    { key: 'interruptions', name: 'gamelift-exporter.interruptions', rules: interruptionAlerts },
    { key: 'fleetEvents', name: 'gamelift-exporter.fleet-events', rules: fleetEventAlerts },
    { key: 'capacity', name: 'gamelift-exporter.capacity', rules: capacityAlerts },
    { key: 'openSlots', name: 'gamelift-exporter.open-slots', rules: openSlotsAlerts },
    { key: 'placements', name: 'gamelift-exporter.placements', rules: placementAlerts },
  ],

  prometheusAlerts+:: {
    groups+: util.withRunbooks(c, util.enabledGroups(c, $.alertGroups)),
  },
}
