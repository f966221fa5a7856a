// Alertmanager inhibitions: when one alert explains others about the same target (or fleet,
// or location), only that one notifies. `equal` compares the labels every alert keeps
// (_config.groupLabels: namespace, job, instance) plus the fleet or location; a label missing
// on both sides counts as equal, so the same rules hold outside Kubernetes (no namespace).
// Rendered into config/alertmanager/inhibit-rules.yml and the example alertmanager.yml;
// tests/it/operator_kit/alertmanager.rs posts the pairs to a real Alertmanager and reads back
// which are inhibited.
{
  local c = $._config,
  local target = [std.stripChars(l, ' ') for l in std.split(c.groupLabels, ',')],
  local rule(source, targets, equal) = {
    source_matchers: ['alertname="%s"' % source],
    target_matchers: ['alertname=~"%s"' % std.join('|', targets)],
    equal: equal,
  },

  alertmanagerInhibitRules:: [
    // A target that cannot be scraped: every alert about what it watches is moot (its series go
    // stale, but for minutes the fleet alerts fire beside it).
    {
      source_matchers: ['alertname="GameLiftExporterDown"'],
      target_matchers: ['alertname=~"GameLift.+"', 'alertname!="GameLiftExporterDown"'],
      equal: target,
    },
    // A fleet that cannot be read is also stale: one alert, the cause. Its events-poll gauge
    // keeps the value of its last complete live pass meanwhile: the fleet being down says more.
    rule('GameLiftExporterFleetDown', [
      'GameLiftExporterFleetStale',
      'GameLiftExporterCapacityStale',
      'GameLiftExporterFleetEventsDown',
    ], target + ['fleet_id']),
    // At its maximum with no slot and no process: "out of open slots" says less.
    rule('GameLiftFleetAtMaximumCapacity', ['GameLiftFleetOutOfOpenSlots'], target + ['fleet_id', 'location']),
    // The Spot alerts of one fleet, the strongest one only: a mass interruption in any of its
    // locations covers the burst and the notices; a burst covers the notices.
    rule('GameLiftSpotInterruptionsMassive', [
      'GameLiftSpotInterruptionBurst',
      'GameLiftSpotInterruptions',
      'GameLiftSpotInstanceInterrupted',
    ], target + ['fleet_id']),
    rule('GameLiftSpotInterruptionBurst', [
      'GameLiftSpotInterruptions',
      'GameLiftSpotInstanceInterrupted',
    ], target + ['fleet_id']),
  ],

  // A complete Alertmanager configuration around the inhibitions, routing by severity: critical
  // pages, warning opens a ticket, info is a notice in a channel. The receivers have no
  // integration here (they drop what they get): add yours (pagerduty_configs, slack_configs,
  // webhook_configs, ...).
  alertmanagerConfig:: {
    route: {
      receiver: 'tickets',
      group_by: ['alertname', 'namespace', 'job', 'instance', 'account', 'fleet_id', 'location', 'queue'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        { matchers: ['severity="critical"'], receiver: 'pager' },
        { matchers: ['severity="info"'], receiver: 'notices', repeat_interval: '24h' },
      ],
    },
    receivers: [{ name: 'pager' }, { name: 'tickets' }, { name: 'notices' }],
    inhibit_rules: $.alertmanagerInhibitRules,
  },
}
