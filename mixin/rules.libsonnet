// The recording rules: what the dashboard plots, and the terms of some alerts (the tests check
// that an alert contains its recording rule's expression, so a panel shows what the alert sees).
// They keep _config.groupLabels (namespace, job, instance) besides their own labels.
{
  local c = $._config,
  local f = c { sel: c.jobSelector, gl: c.groupLabels },

  prometheusRules+:: {
    groups+: [{
      name: 'gamelift-exporter.rules',
      rules: [
        // Sessions in status ACTIVE per fleet and location.
        {
          record: 'fleet_location:gamelift_game_sessions_active:sum',
          expr: 'sum by (%(gl)s, fleet_id, location) (gamelift_game_sessions{%(sel)s,status="ACTIVE"})' % f,
        },
        // Occupancy of ACTIVE sessions: players / maximum players. Absent when a
        // location has no player slots (no ACTIVE session), instead of NaN/Inf.
        {
          record: 'fleet_location:gamelift_game_session_occupancy:ratio',
          expr: |||
            sum by (%(gl)s, fleet_id, location) (gamelift_game_session_players{%(sel)s})
              /
            (sum by (%(gl)s, fleet_id, location) (gamelift_game_session_player_slots{%(sel)s}) > 0)
          ||| % f,
        },
        // Interruptions seen in the last 10 minutes.
        {
          record: 'fleet_location:gamelift_game_session_interruptions:increase10m',
          expr: 'sum by (%(gl)s, fleet_id, location) (increase(gamelift_game_session_interruptions_total{%(sel)s}[10m]))' % f,
        },
        // Share of a location's sessions interrupted in the last 10 minutes:
        // interrupted / (still ACTIVE + interrupted). The `or ... * 0` term keeps a
        // location whose sessions were all interrupted (no ACTIVE series left) at
        // 100% instead of dropping it; `> 0` guards the division.
        {
          record: 'fleet_location:gamelift_game_session_interrupted:ratio10m',
          // The expression of GameLiftSpotInterruptionsMassive (alerts.libsonnet).
          expr: $.interruptedRatio,
        },
        // Fleet events (DescribeFleetEvents) in the last 15 minutes, by code. The
        // exporter creates the series of the codes the alerts use at 0 when it
        // discovers a fleet, so a quiet fleet reads 0 rather than nothing.
        {
          record: 'fleet_event_code:gamelift_fleet_events:increase15m',
          expr: 'sum by (%(gl)s, fleet_id, event_code) (increase(gamelift_fleet_events_total{%(sel)s}[15m]))' % f,
        },
        // Game sessions that left ACTIVE, per second (the dashboard shows them per minute).
        {
          record: 'fleet_location:gamelift_game_sessions_ended:rate5m',
          expr: 'sum by (%(gl)s, fleet_id, location) (rate(gamelift_game_sessions_ended_total{%(sel)s}[5m]))' % f,
        },
        // Player utilization as GameLift reports it (DescribeFleetUtilization,
        // DescribeFleetLocationUtilization): current player sessions / maximum
        // player sessions of the game sessions hosted. Absent without a hosted
        // session (maximum 0), instead of NaN.
        {
          record: 'fleet_location:gamelift_fleet_player_sessions:ratio',
          expr: |||
            sum by (%(gl)s, fleet_id, location) (gamelift_fleet_current_player_sessions{%(sel)s})
              /
            (sum by (%(gl)s, fleet_id, location) (gamelift_fleet_maximum_player_sessions{%(sel)s}) > 0)
          ||| % f,
        },
        // Server processes in use: active game sessions / active server processes
        // (one game session per process), the complement of GameLift's
        // PercentAvailableGameSessions. Absent without an active process.
        {
          record: 'fleet_location:gamelift_fleet_server_processes_in_use:ratio',
          expr: |||
            sum by (%(gl)s, fleet_id, location) (gamelift_fleet_active_game_sessions{%(sel)s})
              /
            (sum by (%(gl)s, fleet_id, location) (gamelift_fleet_active_server_processes{%(sel)s}) > 0)
          ||| % f,
        },
        // GameLift API request rate per exporter, account, Region and operation.
        {
          record: 'instance_operation:gamelift_exporter_api_requests:rate5m',
          expr: 'sum by (%(gl)s, account, region, operation) (rate(gamelift_exporter_api_requests_total{%(sel)s}[5m]))' % f,
        },
        // Share of GameLift API requests that were throttled, per exporter, account,
        // Region (API quotas are per account and Region) and operation. The failure
        // counter has no series until the first failure, so an operation without
        // throttling reports 0 rather than nothing.
        {
          record: 'instance_operation:gamelift_exporter_api_requests_throttled:ratio_rate10m',
          expr: |||
            (
                sum by (%(gl)s, account, region, operation) (rate(gamelift_exporter_api_request_failures_total{%(sel)s,reason="throttled"}[10m]))
              or
                0 * sum by (%(gl)s, account, region, operation) (rate(gamelift_exporter_api_requests_total{%(sel)s}[10m]))
            )
              /
            (sum by (%(gl)s, account, region, operation) (rate(gamelift_exporter_api_requests_total{%(sel)s}[10m])) > 0)
          ||| % f,
        },
        // Placements that ended in the last 15 minutes per queue, every outcome
        // (fulfilled, failed, timed_out, cancelled): the volume behind the
        // failure ratio, and the minimum GameLiftPlacementFailureRatioHigh wants.
        {
          record: 'queue:gamelift_placements:increase15m',
          expr: 'sum by (%(gl)s, queue) (increase(gamelift_placements_total{%(sel)s}[15m]))' % f,
        },
        // Share of a queue's placements that failed or timed out in the last 15
        // minutes, of all that ended (cancelled ones included: a placement the
        // game backend stopped is an outcome, not a failure). Absent without a
        // placement in the window (`> 0` guards the division).
        {
          record: 'queue:gamelift_placements_failed_or_timed_out:ratio15m',
          expr: |||
            sum by (%(gl)s, queue) (increase(gamelift_placements_total{%(sel)s,outcome=~"failed|timed_out"}[15m]))
              /
            (sum by (%(gl)s, queue) (increase(gamelift_placements_total{%(sel)s}[15m])) > 0)
          ||| % f,
        },
        // 95th percentile of a placement's duration (endTime - startTime) per
        // queue and outcome over 15 minutes. NaN without a placement in the window.
        // GameLiftPlacementLatencyHigh reads the fulfilled ones: a timed-out
        // placement lasts the queue's timeout by definition.
        {
          record: 'queue_outcome:gamelift_placement_duration_seconds:p95_15m',
          expr: |||
            histogram_quantile(0.95,
              sum by (%(gl)s, queue, outcome, le) (rate(gamelift_placement_duration_seconds_bucket{%(sel)s}[15m]))
            )
          ||| % f,
        },
        // Game sessions that became ACTIVE in the last 15 minutes, per exporter,
        // estimated from what the live passes see: the change in ACTIVE sessions
        // plus the sessions that left ACTIVE (ACTIVE now = ACTIVE before + started
        // - ended). Ended sessions alone would not do: while a fleet drains at
        // night sessions end and none start. Sessions that start and end between
        // two live passes are missed (an underestimate, never a false start).
        // delta() takes each series from its first sample in the window, so a
        // fleet discovered meanwhile adds its change, not all its sessions.
        // GameLiftEventsStalled compares it with the placement events.
        {
          record: 'instance:gamelift_game_sessions_started:increase15m',
          expr: |||
            sum by (%(gl)s) (delta(gamelift_game_sessions{%(sel)s,status="ACTIVE"}[15m]))
              +
            sum by (%(gl)s) (increase(gamelift_game_sessions_ended_total{%(sel)s}[15m]))
          ||| % f,
        },
      ],
    }],
  },
}
