// The Grafana dashboard "GameLift sessions" (uid gamelift-exporter), rendered into
// grafana/gamelift-exporter.json. Panels and variables are plain Grafana JSON; what depends on
// the knobs (the job selector of the Job variable, threshold lines, runbook links and the
// numbers in descriptions) is computed from _config. Every target selects job=~"$job" (and
// account=~"$account" where the series have an account label); tests/it/operator_kit/ checks
// the queries against a real Prometheus.
{
  local c = $._config,
  local percent(ratio) = std.toString(ratio * 100) + '%',

  grafanaDashboards+:: {
    'gamelift-exporter.json': {
      title: 'GameLift sessions',
      uid: 'gamelift-exporter',
      description: 'Amazon GameLift game sessions, fleet capacity and health, Spot interruptions, placements and matchmaking, and exporter health, from gamelift-exporter. Needs Grafana 10.4 or newer and the recording rules of the gamelift-exporter mixin.',
      tags: [
        'gamelift',
        'prometheus',
        'gamelift-exporter',
      ],
      editable: true,
      graphTooltip: 1,
      fiscalYearStartMonth: 0,
      liveNow: false,
      links: [
        {
          title: 'Runbooks',
          type: 'link',
          url: c.runbookBaseUrl,
          icon: 'doc',
          tooltip: 'What each GameLift alert means, what to check first, how to silence it',
          targetBlank: true,
          asDropdown: false,
          includeVars: false,
          keepTime: false,
          tags: [],
        },
      ],
      refresh: '1m',
      schemaVersion: 39,
      version: 4,
      time: {
        from: 'now-6h',
        to: 'now',
      },
      timepicker: {},
      timezone: '',
      weekStart: '',
      annotations: {
        list: [
          {
            name: 'Spot interruptions',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            enable: true,
            hide: false,
            iconColor: 'red',
            expr: 'sum by (fleet_id, location) (increase(gamelift_game_session_interruptions_total{job=~"$job",fleet_id=~"$fleet",location=~"$location"}[$__rate_interval])) > 0',
            step: '1m',
            titleFormat: 'Spot interruption',
            textFormat: '{{fleet_id}} in {{location}}',
            tagKeys: 'fleet_id,location',
            useValueForTime: false,
          },
          {
            name: 'Spot notices',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            enable: true,
            hide: false,
            iconColor: 'orange',
            expr: 'sum by (fleet_id) (increase(gamelift_fleet_events_total{job=~"$job",event_code="INSTANCE_INTERRUPTED",fleet_id=~"$fleet"}[$__rate_interval])) > 0',
            step: '1m',
            titleFormat: 'Spot two-minute notice',
            textFormat: '{{fleet_id}}',
            tagKeys: 'fleet_id',
            useValueForTime: false,
          },
        ],
      },
      templating: {
        list: [
          {
            type: 'datasource',
            name: 'datasource',
            label: 'Data source',
            query: 'prometheus',
            current: {},
            hide: 0,
            includeAll: false,
            multi: false,
            options: [],
            refresh: 1,
            regex: '',
            skipUrlSync: false,
          },
          {
            type: 'query',
            name: 'job',
            label: 'Job',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'label_values(up{%s}, job)' % c.jobSelector,
            query: {
              qryType: 1,
              query: 'label_values(up{%s}, job)' % c.jobSelector,
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            refresh: 2,
            regex: '',
            sort: 1,
            multi: true,
            includeAll: true,
            allValue: '.*',
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            options: [],
            hide: 0,
            skipUrlSync: false,
          },
          {
            type: 'query',
            name: 'account',
            label: 'Account',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'label_values(gamelift_fleet_info{job=~"$job"}, account)',
            query: {
              qryType: 1,
              query: 'label_values(gamelift_fleet_info{job=~"$job"}, account)',
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            refresh: 2,
            regex: '',
            sort: 1,
            multi: true,
            includeAll: true,
            allValue: '.*',
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            options: [],
            hide: 0,
            skipUrlSync: false,
          },
          {
            type: 'query',
            name: 'home_region',
            label: 'Home region',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'label_values(gamelift_fleet_info{job=~"$job",account=~"$account"}, home_region)',
            query: {
              qryType: 1,
              query: 'label_values(gamelift_fleet_info{job=~"$job",account=~"$account"}, home_region)',
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            refresh: 2,
            regex: '',
            sort: 1,
            multi: true,
            includeAll: true,
            allValue: '.*',
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            options: [],
            hide: 0,
            skipUrlSync: false,
          },
          {
            type: 'query',
            name: 'fleet',
            label: 'Fleet',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'query_result(gamelift_fleet_info{job=~"$job",account=~"$account",home_region=~"$home_region"})',
            query: 'query_result(gamelift_fleet_info{job=~"$job",account=~"$account",home_region=~"$home_region"})',
            refresh: 2,
            regex: '/fleet_id="(?<value>[^"]+)",fleet_name="(?<text>[^"]*)"/',
            sort: 1,
            multi: true,
            includeAll: true,
            allValue: '.*',
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            options: [],
            hide: 0,
            skipUrlSync: false,
          },
          {
            type: 'query',
            name: 'location',
            label: 'Location',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'label_values(gamelift_game_sessions{job=~"$job",fleet_id=~"$fleet"}, location)',
            query: {
              qryType: 1,
              query: 'label_values(gamelift_game_sessions{job=~"$job",fleet_id=~"$fleet"}, location)',
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            refresh: 2,
            regex: '',
            sort: 1,
            multi: true,
            includeAll: true,
            allValue: '.*',
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            options: [],
            hide: 0,
            skipUrlSync: false,
          },
          {
            type: 'query',
            name: 'queue',
            label: 'Queue',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'label_values(gamelift_placements_total{job=~"$job"}, queue)',
            query: {
              qryType: 1,
              query: 'label_values(gamelift_placements_total{job=~"$job"}, queue)',
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            refresh: 2,
            regex: '',
            sort: 1,
            multi: true,
            includeAll: true,
            allValue: '.*',
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            options: [],
            hide: 0,
            skipUrlSync: false,
          },
          {
            type: 'query',
            name: 'configuration',
            label: 'Matchmaking configuration',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'label_values(gamelift_matchmaking_events_total{job=~"$job"}, configuration)',
            query: {
              qryType: 1,
              query: 'label_values(gamelift_matchmaking_events_total{job=~"$job"}, configuration)',
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            refresh: 2,
            regex: '',
            sort: 1,
            multi: true,
            includeAll: true,
            allValue: '.*',
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            options: [],
            hide: 0,
            skipUrlSync: false,
          },
        ],
      },
      panels: [
        {
          id: 1,
          type: 'row',
          title: 'Overview',
          collapsed: false,
          panels: [],
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 0,
          },
        },
        {
          id: 2,
          type: 'stat',
          title: 'Active sessions',
          description: 'Game sessions in status ACTIVE in the selected fleets and locations.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(gamelift_game_sessions{job=~"$job",fleet_id=~"$fleet",location=~"$location",status="ACTIVE"})',
              legendFormat: 'active',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'area',
            justifyMode: 'auto',
            orientation: 'auto',
            textMode: 'auto',
            wideLayout: true,
            showPercentChange: false,
          },
          gridPos: {
            h: 4,
            w: 4,
            x: 0,
            y: 1,
          },
        },
        {
          id: 3,
          type: 'stat',
          title: 'Players',
          description: 'Players in ACTIVE game sessions.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(gamelift_game_session_players{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: 'players',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'area',
            justifyMode: 'auto',
            orientation: 'auto',
            textMode: 'auto',
            wideLayout: true,
            showPercentChange: false,
          },
          gridPos: {
            h: 4,
            w: 4,
            x: 4,
            y: 1,
          },
        },
        {
          id: 4,
          type: 'stat',
          title: 'Open slots',
          description: 'Free player slots in ACTIVE game sessions (maximum players minus players). 0 while sessions are active means every session is full.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(gamelift_game_session_open_slots{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: 'open slots',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'red',
                    value: null,
                  },
                  {
                    color: 'orange',
                    value: 1,
                  },
                  {
                    color: 'green',
                    value: 10,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'area',
            justifyMode: 'auto',
            orientation: 'auto',
            textMode: 'auto',
            wideLayout: true,
            showPercentChange: false,
          },
          gridPos: {
            h: 4,
            w: 4,
            x: 8,
            y: 1,
          },
        },
        {
          id: 5,
          type: 'stat',
          title: 'Occupancy',
          description: 'Players / player slots over all selected ACTIVE sessions (a ratio of sums; the per fleet and location ratio is the recording rule fleet_location:gamelift_game_session_occupancy:ratio, shown in the Sessions row).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(gamelift_game_session_players{job=~"$job",fleet_id=~"$fleet",location=~"$location"}) / (sum(gamelift_game_session_player_slots{job=~"$job",fleet_id=~"$fleet",location=~"$location"}) > 0)',
              legendFormat: 'occupancy',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'percentunit',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'orange',
                    value: 0.85,
                  },
                  {
                    color: 'red',
                    value: 0.95,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              mappings: [],
              decimals: 1,
              min: 0,
              max: 1,
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'area',
            justifyMode: 'auto',
            orientation: 'auto',
            textMode: 'auto',
            wideLayout: true,
            showPercentChange: false,
          },
          gridPos: {
            h: 4,
            w: 4,
            x: 12,
            y: 1,
          },
        },
        {
          id: 6,
          type: 'stat',
          title: 'Spot interruptions',
          description: 'Game sessions interrupted (Spot reclaim) during the selected time range (increase of gamelift_game_session_interruptions_total; exporter restarts are not counted).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(increase(gamelift_game_session_interruptions_total{job=~"$job",fleet_id=~"$fleet",location=~"$location"}[$__range]))',
              legendFormat: 'interruptions',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'orange',
                    value: 1,
                  },
                  {
                    color: 'red',
                    value: 10,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'area',
            justifyMode: 'auto',
            orientation: 'auto',
            textMode: 'auto',
            wideLayout: true,
            showPercentChange: false,
          },
          gridPos: {
            h: 4,
            w: 4,
            x: 16,
            y: 1,
          },
        },
        {
          id: 7,
          type: 'stat',
          title: 'Fleets not swept',
          description: 'Fleets whose last sweep by the exporter failed (gamelift_exporter_fleet_up == 0).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'count(gamelift_exporter_fleet_up{job=~"$job",fleet_id=~"$fleet"} == 0) or on() vector(0)',
              legendFormat: 'down',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'red',
                    value: 1,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'area',
            justifyMode: 'auto',
            orientation: 'auto',
            textMode: 'auto',
            wideLayout: true,
            showPercentChange: false,
          },
          gridPos: {
            h: 4,
            w: 4,
            x: 20,
            y: 1,
          },
        },
        {
          id: 8,
          type: 'row',
          title: 'Sessions',
          collapsed: false,
          panels: [],
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 5,
          },
        },
        {
          id: 9,
          type: 'timeseries',
          title: 'Game sessions by status and reason',
          description: 'gamelift_game_sessions summed by status and status reason. TERMINATED with reason INTERRUPTED are Spot interruptions.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (status, status_reason) (gamelift_game_sessions{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: '{{status}} {{status_reason}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 6,
          },
        },
        {
          id: 10,
          type: 'timeseries',
          title: 'Active sessions by fleet and location',
          description: 'Recording rule fleet_location:gamelift_game_sessions_active:sum.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'fleet_location:gamelift_game_sessions_active:sum{job=~"$job",fleet_id=~"$fleet",location=~"$location"}',
              legendFormat: '{{fleet_id}} {{location}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 6,
          },
        },
        {
          id: 11,
          type: 'timeseries',
          title: 'Players and slots',
          description: 'Players, player slots and open slots of ACTIVE sessions.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(gamelift_game_session_players{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: 'players',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: 'sum(gamelift_game_session_player_slots{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: 'player slots',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'C',
              expr: 'sum(gamelift_game_session_open_slots{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: 'open slots',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 14,
          },
        },
        {
          id: 12,
          type: 'timeseries',
          title: 'Occupancy by fleet and location',
          description: 'Recording rule fleet_location:gamelift_game_session_occupancy:ratio (players / player slots of ACTIVE sessions).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'fleet_location:gamelift_game_session_occupancy:ratio{job=~"$job",fleet_id=~"$fleet",location=~"$location"}',
              legendFormat: '{{fleet_id}} {{location}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'percentunit',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 0,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'dashed',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'orange',
                    value: 0.85,
                  },
                  {
                    color: 'red',
                    value: 0.95,
                  },
                ],
              },
              mappings: [],
              min: 0,
              max: 1,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 14,
          },
        },
        {
          id: 31,
          type: 'timeseries',
          title: 'Game sessions ended per minute',
          description: 'Game sessions that left ACTIVE per minute, per fleet and location (rate of gamelift_game_sessions_ended_total, counted by every live pass). A drop to 0 on a busy fleet, or a spike, is worth a look; spikes together with interruptions or crashes mean sessions were lost.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: '60 * sum by (fleet_id, location) (rate(gamelift_game_sessions_ended_total{job=~"$job",fleet_id=~"$fleet",location=~"$location"}[$__rate_interval]))',
              legendFormat: '{{fleet_id}} {{location}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 24,
            x: 0,
            y: 22,
          },
        },
        {
          id: 13,
          type: 'row',
          title: 'Occupancy',
          collapsed: false,
          panels: [],
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 30,
          },
        },
        {
          id: 14,
          type: 'timeseries',
          title: 'Sessions by occupancy per location',
          description: 'ACTIVE sessions per location that are empty (no player), partial or full.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (location, occupancy) (gamelift_game_sessions_by_occupancy{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: '{{location}} {{occupancy}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'bars',
                lineWidth: 1,
                fillOpacity: 80,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'normal',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [
              {
                matcher: {
                  id: 'byRegexp',
                  options: '.*empty$',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'blue',
                    },
                  },
                ],
              },
              {
                matcher: {
                  id: 'byRegexp',
                  options: '.*partial$',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'green',
                    },
                  },
                ],
              },
              {
                matcher: {
                  id: 'byRegexp',
                  options: '.*full$',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'orange',
                    },
                  },
                ],
              },
            ],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 16,
            x: 0,
            y: 31,
          },
        },
        {
          id: 15,
          type: 'bargauge',
          title: 'Occupancy now per location',
          description: 'Current number of ACTIVE sessions per location and occupancy class.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (location, occupancy) (gamelift_game_sessions_by_occupancy{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: '{{location}} {{occupancy}}',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              decimals: 0,
              min: 0,
              color: {
                mode: 'thresholds',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
            },
            overrides: [
              {
                matcher: {
                  id: 'byRegexp',
                  options: '.*empty$',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'blue',
                    },
                  },
                ],
              },
              {
                matcher: {
                  id: 'byRegexp',
                  options: '.*partial$',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'green',
                    },
                  },
                ],
              },
              {
                matcher: {
                  id: 'byRegexp',
                  options: '.*full$',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'orange',
                    },
                  },
                ],
              },
            ],
          },
          options: {
            orientation: 'horizontal',
            displayMode: 'gradient',
            showUnfilled: true,
            valueMode: 'color',
            namePlacement: 'auto',
            sizing: 'auto',
            minVizHeight: 16,
            maxVizHeight: 300,
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
          },
          gridPos: {
            h: 8,
            w: 8,
            x: 16,
            y: 31,
          },
        },
        {
          id: 39,
          type: 'row',
          title: 'Capacity: $location',
          collapsed: false,
          panels: [],
          repeat: 'location',
          repeatDirection: 'h',
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 39,
          },
        },
        {
          id: 40,
          type: 'stat',
          title: 'Fleet and location status',
          description: 'The current status of each fleet (DescribeFleetAttributes) and of each fleet location (DescribeFleetLocationAttributes): gamelift_fleet_status and gamelift_fleet_location_status are state sets, 1 for the current status and 0 for every other, so the panel shows the series at 1. Green ACTIVE, red ERROR (alerts GameLiftFleetError, GameLiftFleetLocationError), orange on the way out (DELETING, TERMINATED, NOT_FOUND, EXPIRED), blue while being set up.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (fleet_id, status) (gamelift_fleet_status{job=~"$job",fleet_id=~"$fleet"}) == 1 and on (fleet_id) gamelift_fleet_location_status{job=~"$job",fleet_id=~"$fleet",location=~"$location"}',
              legendFormat: '{{fleet_id}} fleet: {{status}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: 'sum by (fleet_id, location, status) (gamelift_fleet_location_status{job=~"$job",fleet_id=~"$fleet",location=~"$location"}) == 1',
              legendFormat: '{{fleet_id}} {{location}}: {{status}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'none',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'blue',
                    value: null,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [
              {
                matcher: {
                  id: 'byRegexp',
                  options: '/: ACTIVE$/',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'green',
                    },
                  },
                ],
              },
              {
                matcher: {
                  id: 'byRegexp',
                  options: '/: ERROR$/',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'red',
                    },
                  },
                ],
              },
              {
                matcher: {
                  id: 'byRegexp',
                  options: '/: (DELETING|TERMINATED|NOT_FOUND|EXPIRED)$/',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'orange',
                    },
                  },
                ],
              },
            ],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'background',
            graphMode: 'none',
            justifyMode: 'center',
            orientation: 'auto',
            textMode: 'name',
            wideLayout: true,
            showPercentChange: false,
          },
          gridPos: {
            h: 4,
            w: 24,
            x: 0,
            y: 40,
          },
          links: [
            {
              title: 'Runbook: GameLiftFleetError',
              url: c.runbookBaseUrl + '#gameliftfleeterror',
              targetBlank: true,
            },
            {
              title: 'Runbook: GameLiftFleetLocationError',
              url: c.runbookBaseUrl + '#gameliftfleetlocationerror',
              targetBlank: true,
            },
          ],
        },
        {
          id: 41,
          type: 'timeseries',
          title: 'Instances: desired, active, idle against maximum',
          description: 'gamelift_fleet_instances (DescribeFleetCapacity, DescribeFleetLocationCapacity) per fleet in this location: DESIRED, ACTIVE and IDLE (ACTIVE without a game session, a subset of ACTIVE) against MAXIMUM (dashed red). ACTIVE at MAXIMUM: autoscaling cannot add an instance (alert GameLiftFleetAtMaximumCapacity). ACTIVE below DESIRED long after a Spot notice: alert GameLiftCapacityNotRecovering. Refreshed every sweep.capacity_interval (60s).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (fleet_id, state) (gamelift_fleet_instances{job=~"$job",fleet_id=~"$fleet",location=~"$location",state=~"DESIRED|ACTIVE|IDLE|MAXIMUM"})',
              legendFormat: '{{fleet_id}} {{state}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
              min: 0,
            },
            overrides: [
              {
                matcher: {
                  id: 'byRegexp',
                  options: '/ MAXIMUM$/',
                },
                properties: [
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'red',
                    },
                  },
                  {
                    id: 'custom.lineStyle',
                    value: {
                      fill: 'dash',
                      dash: [
                        10,
                        10,
                      ],
                    },
                  },
                  {
                    id: 'custom.fillOpacity',
                    value: 0,
                  },
                  {
                    id: 'custom.lineWidth',
                    value: 2,
                  },
                ],
              },
            ],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 44,
          },
          links: [
            {
              title: 'Runbook: GameLiftCapacityNotRecovering',
              url: c.runbookBaseUrl + '#gameliftcapacitynotrecovering',
              targetBlank: true,
            },
            {
              title: 'Runbook: GameLiftFleetAtMaximumCapacity',
              url: c.runbookBaseUrl + '#gameliftfleetatmaximumcapacity',
              targetBlank: true,
            },
          ],
        },
        {
          id: 42,
          type: 'timeseries',
          title: 'Utilization',
          description: 'Player sessions: current / maximum player sessions of the game sessions hosted (fleet_location:gamelift_fleet_player_sessions:ratio). Server processes: active game sessions / active server processes (fleet_location:gamelift_fleet_server_processes_in_use:ratio); at 100% a new game session has no process to start on. From DescribeFleetUtilization and DescribeFleetLocationUtilization (EC2 fleets).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'fleet_location:gamelift_fleet_player_sessions:ratio{job=~"$job",fleet_id=~"$fleet",location=~"$location"}',
              legendFormat: '{{fleet_id}} player sessions',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: 'fleet_location:gamelift_fleet_server_processes_in_use:ratio{job=~"$job",fleet_id=~"$fleet",location=~"$location"}',
              legendFormat: '{{fleet_id}} server processes',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'percentunit',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
              max: 1,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 44,
          },
        },
        {
          id: 43,
          type: 'timeseries',
          title: 'Server processes and game sessions',
          description: 'Active server processes and active game sessions (gamelift_fleet_active_server_processes, gamelift_fleet_active_game_sessions), and current and maximum player sessions, per fleet in this location. A process hosts one game session at a time: processes minus sessions is the room for new sessions.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (fleet_id) (gamelift_fleet_active_server_processes{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: '{{fleet_id}} server processes',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: 'sum by (fleet_id) (gamelift_fleet_active_game_sessions{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: '{{fleet_id}} game sessions',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'C',
              expr: 'sum by (fleet_id) (gamelift_fleet_current_player_sessions{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: '{{fleet_id}} player sessions',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'D',
              expr: 'sum by (fleet_id) (gamelift_fleet_maximum_player_sessions{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: '{{fleet_id}} maximum player sessions',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 8,
            x: 0,
            y: 52,
          },
        },
        {
          id: 44,
          type: 'timeseries',
          title: 'Instances pending and terminating',
          description: 'gamelift_fleet_instances PENDING (starting, e.g. replacing a reclaimed Spot instance) and TERMINATING, per fleet in this location. PENDING that never turns ACTIVE after an interruption: see GameLiftCapacityNotRecovering.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (fleet_id, state) (gamelift_fleet_instances{job=~"$job",fleet_id=~"$fleet",location=~"$location",state=~"PENDING|TERMINATING"})',
              legendFormat: '{{fleet_id}} {{state}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 8,
            x: 8,
            y: 52,
          },
          links: [
            {
              title: 'Runbook: GameLiftCapacityNotRecovering',
              url: c.runbookBaseUrl + '#gameliftcapacitynotrecovering',
              targetBlank: true,
            },
          ],
        },
        {
          id: 45,
          type: 'timeseries',
          title: 'Game server container groups',
          description: 'Container fleets only: gamelift_fleet_game_server_container_groups by state (PENDING, ACTIVE with game sessions, IDLE without, TERMINATING) per fleet in this location. Empty for EC2 fleets.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (fleet_id, state) (gamelift_fleet_game_server_container_groups{job=~"$job",fleet_id=~"$fleet",location=~"$location"})',
              legendFormat: '{{fleet_id}} {{state}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 8,
            x: 16,
            y: 52,
          },
        },
        {
          id: 16,
          type: 'row',
          title: 'Interruptions',
          collapsed: false,
          panels: [],
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 60,
          },
        },
        {
          id: 17,
          type: 'timeseries',
          title: 'Spot interruptions per fleet and location',
          description: 'Sessions interrupted per rate interval (increase of gamelift_game_session_interruptions_total; counter resets on exporter restart are ignored).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (fleet_id, location) (increase(gamelift_game_session_interruptions_total{job=~"$job",fleet_id=~"$fleet",location=~"$location"}[$__rate_interval]))',
              legendFormat: '{{fleet_id}} {{location}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'bars',
                lineWidth: 1,
                fillOpacity: 80,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 61,
          },
        },
        {
          id: 18,
          type: 'timeseries',
          title: 'Interrupted share of sessions (10m)',
          description: 'Recording rule fleet_location:gamelift_game_session_interrupted:ratio10m: interrupted / (active + interrupted) over 10 minutes. GameLiftSpotInterruptionsMassive pages at %s.' % percent(c.spotMassiveRatio),
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'fleet_location:gamelift_game_session_interrupted:ratio10m{job=~"$job",fleet_id=~"$fleet",location=~"$location"}',
              legendFormat: '{{fleet_id}} {{location}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'percentunit',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 0,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'dashed',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'orange',
                    value: 0.05,
                  },
                  {
                    color: 'red',
                    value: c.spotMassiveRatio,
                  },
                ],
              },
              mappings: [],
              min: 0,
              max: 1,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 61,
          },
          links: [
            {
              title: 'Runbook: GameLiftSpotInterruptionsMassive',
              url: c.runbookBaseUrl + '#gameliftspotinterruptionsmassive',
              targetBlank: true,
            },
          ],
        },
        {
          id: 19,
          type: 'bargauge',
          title: 'Interruptions in range',
          description: 'Sessions interrupted during the selected time range, per fleet and location.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sort_desc(sum by (fleet_id, location) (increase(gamelift_game_session_interruptions_total{job=~"$job",fleet_id=~"$fleet",location=~"$location"}[$__range])))',
              legendFormat: '{{fleet_id}} {{location}}',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              decimals: 0,
              min: 0,
              color: {
                mode: 'thresholds',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'orange',
                    value: 1,
                  },
                  {
                    color: 'red',
                    value: 10,
                  },
                ],
              },
              mappings: [],
            },
            overrides: [],
          },
          options: {
            orientation: 'horizontal',
            displayMode: 'gradient',
            showUnfilled: true,
            valueMode: 'color',
            namePlacement: 'auto',
            sizing: 'auto',
            minVizHeight: 16,
            maxVizHeight: 300,
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 69,
          },
        },
        {
          id: 20,
          type: 'table',
          title: 'Last interruption',
          description: 'Time of the most recent interrupted session still visible to the exporter, per fleet and location (gamelift_game_session_last_interruption_timestamp_seconds).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'max by (fleet_id, location) (gamelift_game_session_last_interruption_timestamp_seconds{job=~"$job",fleet_id=~"$fleet",location=~"$location"}) * 1000',
              legendFormat: '',
              range: false,
              instant: true,
              editorMode: 'code',
              format: 'table',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                align: 'auto',
                cellOptions: {
                  type: 'auto',
                },
              },
              color: {
                mode: 'thresholds',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
            },
            overrides: [
              {
                matcher: {
                  id: 'byName',
                  options: 'Last interruption',
                },
                properties: [
                  {
                    id: 'unit',
                    value: 'dateTimeAsIso',
                  },
                ],
              },
            ],
          },
          transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                },
                renameByName: {
                  fleet_id: 'Fleet',
                  location: 'Location',
                  Value: 'Last interruption',
                },
                indexByName: {
                  fleet_id: 0,
                  location: 1,
                  Value: 2,
                },
              },
            },
            {
              id: 'sortBy',
              options: {
                sort: [
                  {
                    field: 'Last interruption',
                    desc: true,
                  },
                ],
              },
            },
          ],
          options: {
            showHeader: true,
            cellHeight: 'sm',
            footer: {
              show: false,
              reducer: [
                'sum',
              ],
              fields: '',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 69,
          },
        },
        {
          id: 32,
          type: 'row',
          title: 'Fleet events',
          collapsed: false,
          panels: [],
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 77,
          },
        },
        {
          id: 33,
          type: 'timeseries',
          title: 'Fleet events by code',
          description: 'Fleet events read from DescribeFleetEvents per rate interval, by event code (increase of gamelift_fleet_events_total). INSTANCE_INTERRUPTED is the two-minute spot notice; SERVER_PROCESS_CRASHED feeds GameLiftServerProcessCrashLoop, GAME_SESSION_ACTIVATION_TIMEOUT GameLiftGameSessionActivationTimeouts, INSTANCE_REPLACED_UNHEALTHY and SERVER_PROCESS_TERMINATED_UNHEALTHY GameLiftUnhealthyReplacements.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (event_code) (increase(gamelift_fleet_events_total{job=~"$job",fleet_id=~"$fleet"}[$__rate_interval]))',
              legendFormat: '{{event_code}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'bars',
                lineWidth: 1,
                fillOpacity: 80,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'normal',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 78,
          },
          links: [
            {
              title: 'Runbook: GameLiftGameSessionActivationTimeouts',
              url: c.runbookBaseUrl + '#gameliftgamesessionactivationtimeouts',
              targetBlank: true,
            },
            {
              title: 'Runbook: GameLiftServerProcessCrashLoop',
              url: c.runbookBaseUrl + '#gameliftserverprocesscrashloop',
              targetBlank: true,
            },
            {
              title: 'Runbook: GameLiftUnhealthyReplacements',
              url: c.runbookBaseUrl + '#gameliftunhealthyreplacements',
              targetBlank: true,
            },
          ],
        },
        {
          id: 34,
          type: 'bargauge',
          title: 'Fleet events in range',
          description: 'Fleet events during the selected time range, per fleet and event code (the recording rule fleet_event_code:gamelift_fleet_events:increase15m gives the last 15 minutes).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sort_desc(sum by (fleet_id, event_code) (increase(gamelift_fleet_events_total{job=~"$job",fleet_id=~"$fleet"}[$__range])))',
              legendFormat: '{{fleet_id}} {{event_code}}',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              decimals: 0,
              min: 0,
              color: {
                mode: 'thresholds',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'orange',
                    value: 1,
                  },
                  {
                    color: 'red',
                    value: 10,
                  },
                ],
              },
              mappings: [],
            },
            overrides: [],
          },
          options: {
            orientation: 'horizontal',
            displayMode: 'gradient',
            showUnfilled: true,
            valueMode: 'color',
            namePlacement: 'auto',
            sizing: 'auto',
            minVizHeight: 16,
            maxVizHeight: 300,
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 78,
          },
        },
        {
          id: 46,
          type: 'row',
          title: 'Placements and matchmaking',
          collapsed: false,
          panels: [],
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 86,
          },
        },
        {
          id: 47,
          type: 'timeseries',
          title: 'Placements per minute by queue and outcome',
          description: 'Game session placements that ended per minute, per queue and outcome (fulfilled, failed, timed_out, cancelled), from the queue placement events the exporter reads from SQS (gamelift_placements_total). Empty without the [events] section: see README, "Placement and matchmaking events: setup".',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: '60 * sum by (queue, outcome) (rate(gamelift_placements_total{job=~"$job",queue=~"$queue"}[$__rate_interval]))',
              legendFormat: '{{queue}} {{outcome}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 87,
          },
        },
        {
          id: 48,
          type: 'timeseries',
          title: 'Failed or timed-out share of placements (15m)',
          description: 'Recording rule queue:gamelift_placements_failed_or_timed_out:ratio15m: (failed + timed_out) / all placements that ended in the last 15 minutes, per queue; absent without a placement. GameLiftPlacementFailureRatioHigh fires above %s with at least %d placements in the window, for 5 minutes.' % [percent(c.placementFailureRatio), c.placementMinimum],
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'queue:gamelift_placements_failed_or_timed_out:ratio15m{job=~"$job",queue=~"$queue"}',
              legendFormat: '{{queue}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'percentunit',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 0,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'dashed',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'red',
                    value: c.placementFailureRatio,
                  },
                ],
              },
              mappings: [],
              min: 0,
              max: 1,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 87,
          },
          links: [
            {
              title: 'Runbook: GameLiftPlacementFailureRatioHigh',
              url: c.runbookBaseUrl + '#gameliftplacementfailureratiohigh',
              targetBlank: true,
            },
          ],
        },
        {
          id: 49,
          type: 'timeseries',
          title: 'Placement time, fulfilled: p50, p95, p99',
          description: "Time from a placement's start to its game session (endTime - startTime of PlacementFulfilled events), quantiles of the gamelift_placement_duration_seconds histogram per queue (buckets 0.5 s to 10 min). GameLiftPlacementLatencyHigh fires when the 15-minute p95 exceeds %s s. Timed-out placements are left out: they last the queue's timeout." % c.placementLatencySeconds,
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'histogram_quantile(0.5, sum by (queue, le) (rate(gamelift_placement_duration_seconds_bucket{job=~"$job",outcome="fulfilled",queue=~"$queue"}[$__rate_interval])))',
              legendFormat: 'p50 {{queue}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: 'histogram_quantile(0.95, sum by (queue, le) (rate(gamelift_placement_duration_seconds_bucket{job=~"$job",outcome="fulfilled",queue=~"$queue"}[$__rate_interval])))',
              legendFormat: 'p95 {{queue}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'C',
              expr: 'histogram_quantile(0.99, sum by (queue, le) (rate(gamelift_placement_duration_seconds_bucket{job=~"$job",outcome="fulfilled",queue=~"$queue"}[$__rate_interval])))',
              legendFormat: 'p99 {{queue}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 's',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 0,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'dashed',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'red',
                    value: c.placementLatencySeconds,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 95,
          },
          links: [
            {
              title: 'Runbook: GameLiftPlacementLatencyHigh',
              url: c.runbookBaseUrl + '#gameliftplacementlatencyhigh',
              targetBlank: true,
            },
          ],
        },
        {
          id: 50,
          type: 'timeseries',
          title: 'Player sessions placed per minute by Region',
          description: 'Player sessions of fulfilled placements per minute, per queue and the Region the game session was placed in (gamelift_placed_player_sessions_total, region = gameSessionRegion): where the queue sends players.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: '60 * sum by (queue, region) (rate(gamelift_placed_player_sessions_total{job=~"$job",queue=~"$queue"}[$__rate_interval]))',
              legendFormat: '{{queue}} {{region}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 95,
          },
        },
        {
          id: 51,
          type: 'timeseries',
          title: 'Matchmaking time, succeeded: p50, p95',
          description: "Time from a ticket's start to MatchmakingSucceeded, per matchmaking configuration, quantiles of the gamelift_matchmaking_duration_seconds histogram (per ticket; buckets 1 s to 20 min). What players wait before a placement starts.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'histogram_quantile(0.5, sum by (configuration, le) (rate(gamelift_matchmaking_duration_seconds_bucket{job=~"$job",outcome="succeeded",configuration=~"$configuration"}[$__rate_interval])))',
              legendFormat: 'p50 {{configuration}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: 'histogram_quantile(0.95, sum by (configuration, le) (rate(gamelift_matchmaking_duration_seconds_bucket{job=~"$job",outcome="succeeded",configuration=~"$configuration"}[$__rate_interval])))',
              legendFormat: 'p95 {{configuration}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 's',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 0,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 103,
          },
        },
        {
          id: 52,
          type: 'timeseries',
          title: 'Matchmaking events per minute by type',
          description: 'FlexMatch events per minute, per configuration and type (MatchmakingSearching, PotentialMatchCreated, AcceptMatch, AcceptMatchCompleted, MatchmakingSucceeded, MatchmakingTimedOut, MatchmakingCancelled, MatchmakingFailed): gamelift_matchmaking_events_total.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: '60 * sum by (configuration, type) (rate(gamelift_matchmaking_events_total{job=~"$job",configuration=~"$configuration"}[$__rate_interval]))',
              legendFormat: '{{configuration}} {{type}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 103,
          },
        },
        {
          id: 53,
          type: 'timeseries',
          title: 'Event age when read',
          description: "How old the newest event was when the exporter read it (gamelift_exporter_event_age_seconds: time of reading - the event's time): the delay of EventBridge or SNS, SQS and the reader. Seconds normally; it holds its last value while no event comes, so a stop shows in the next panel, not here.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'max by (instance) (gamelift_exporter_event_age_seconds{job=~"$job"})',
              legendFormat: '{{instance}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 's',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 0,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 6,
            x: 0,
            y: 111,
          },
        },
        {
          id: 54,
          type: 'timeseries',
          title: 'Events received and rejected per minute',
          description: 'Messages read from the SQS queue per minute: received by detail-type (gamelift_exporter_events_received_total), rejected by reason (gamelift_exporter_events_rejected_total: malformed, unknown_type, duplicate, ...; rejected messages are deleted, never retried) and counted but not deleted by reason (gamelift_exporter_events_delete_failures_total: request = DeleteMessageBatch failed, entry = the batch refused it; each comes back after its visibility timeout and is rejected as a duplicate, never counted twice). The rejected series may not exist before the first rejection.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: '60 * sum by (detail_type) (rate(gamelift_exporter_events_received_total{job=~"$job"}[$__rate_interval]))',
              legendFormat: 'received {{detail_type}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: '60 * sum by (reason) (rate(gamelift_exporter_events_rejected_total{job=~"$job"}[$__rate_interval]))',
              legendFormat: 'rejected {{reason}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'C',
              expr: '60 * sum by (reason) (rate(gamelift_exporter_events_delete_failures_total{job=~"$job"}[$__rate_interval]))',
              legendFormat: 'not deleted {{reason}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 6,
            x: 6,
            y: 111,
          },
        },
        {
          id: 59,
          type: 'timeseries',
          title: 'Event ids remembered',
          description: "Per exporter, the ids of counted events it remembers against SQS redeliveries (gamelift_exporter_events_remembered_ids): deleted = the message is gone, remembered for events.dedup_window; undeleted = its delete has not succeeded yet, remembered until it does or the queue's retention has passed. At most 200000 in all: past that, ids of deleted messages are forgotten early (right axis, per minute: gamelift_exporter_events_forgotten_ids_total; a rare duplicate of one would count again), and reading pauses while undeleted ones fill it.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (instance, message) (gamelift_exporter_events_remembered_ids{job=~"$job"})',
              legendFormat: '{{instance}} {{message}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: '60 * sum by (instance) (rate(gamelift_exporter_events_forgotten_ids_total{job=~"$job"}[$__rate_interval]))',
              legendFormat: '{{instance}} forgotten early per minute',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 0,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
              decimals: 0,
            },
            overrides: [
              {
                matcher: {
                  id: 'byFrameRefID',
                  options: 'B',
                },
                properties: [
                  {
                    id: 'custom.axisPlacement',
                    value: 'right',
                  },
                ],
              },
            ],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 6,
            x: 12,
            y: 111,
          },
        },
        {
          id: 55,
          type: 'timeseries',
          title: 'Sessions started and placements counted (15m)',
          description: 'Per exporter: game sessions started in the last 15 minutes (recording rule instance:gamelift_game_sessions_started:increase15m, ACTIVE change + sessions ended) against the placements counted from events. GameLiftEventsStalled fires when at least 10 sessions started and not one placement was counted, for 5 minutes.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'instance:gamelift_game_sessions_started:increase15m{job=~"$job"}',
              legendFormat: 'sessions started {{instance}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: 'sum by (instance) (increase(gamelift_placements_total{job=~"$job"}[15m]))',
              legendFormat: 'placements {{instance}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 0,
                gradientMode: 'none',
                showPoints: 'never',
                spanNulls: false,
                axisPlacement: 'auto',
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              color: {
                mode: 'palette-classic',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
              calcs: [],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          gridPos: {
            h: 8,
            w: 6,
            x: 18,
            y: 111,
          },
          links: [
            {
              title: 'Runbook: GameLiftEventsStalled',
              url: c.runbookBaseUrl + '#gamelifteventsstalled',
              targetBlank: true,
            },
          ],
        },
        {
          id: 21,
          type: 'row',
          title: 'Fleets',
          collapsed: false,
          panels: [],
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 119,
          },
        },
        {
          id: 22,
          type: 'table',
          title: 'Fleets',
          description: "gamelift_fleet_info joined with the exporter's per-fleet sweep status.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'gamelift_fleet_info{job=~"$job",account=~"$account",home_region=~"$home_region",fleet_id=~"$fleet"}',
              legendFormat: '',
              range: false,
              instant: true,
              editorMode: 'code',
              format: 'table',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: 'gamelift_exporter_fleet_up{job=~"$job",fleet_id=~"$fleet"}',
              legendFormat: '',
              range: false,
              instant: true,
              editorMode: 'code',
              format: 'table',
            },
          ],
          fieldConfig: {
            defaults: {
              custom: {
                align: 'auto',
                cellOptions: {
                  type: 'auto',
                },
                filterable: true,
              },
              color: {
                mode: 'thresholds',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
            },
            overrides: [
              {
                matcher: {
                  id: 'byName',
                  options: 'Type',
                },
                properties: [
                  {
                    id: 'mappings',
                    value: [
                      {
                        type: 'value',
                        options: {
                          SPOT: {
                            text: 'SPOT',
                            color: 'orange',
                            index: 0,
                          },
                          ON_DEMAND: {
                            text: 'ON_DEMAND',
                            color: 'blue',
                            index: 1,
                          },
                        },
                      },
                    ],
                  },
                  {
                    id: 'custom.cellOptions',
                    value: {
                      type: 'color-text',
                    },
                  },
                ],
              },
              {
                matcher: {
                  id: 'byName',
                  options: 'Sweep',
                },
                properties: [
                  {
                    id: 'mappings',
                    value: [
                      {
                        type: 'value',
                        options: {
                          '0': {
                            text: 'DOWN',
                            color: 'red',
                            index: 0,
                          },
                          '1': {
                            text: 'UP',
                            color: 'green',
                            index: 1,
                          },
                        },
                      },
                    ],
                  },
                  {
                    id: 'custom.cellOptions',
                    value: {
                      type: 'color-background',
                    },
                  },
                ],
              },
            ],
          },
          transformations: [
            {
              id: 'merge',
              options: {},
            },
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  'Value #A': true,
                  job: true,
                },
                indexByName: {
                  fleet_id: 0,
                  fleet_name: 1,
                  fleet_type: 2,
                  compute_type: 3,
                  home_region: 4,
                  'Value #B': 5,
                  instance: 6,
                },
                renameByName: {
                  fleet_id: 'Fleet ID',
                  fleet_name: 'Name',
                  fleet_type: 'Type',
                  compute_type: 'Compute',
                  home_region: 'Home region',
                  'Value #B': 'Sweep',
                  instance: 'Exporter',
                },
              },
            },
          ],
          options: {
            showHeader: true,
            cellHeight: 'sm',
            sortBy: [
              {
                displayName: 'Name',
                desc: false,
              },
            ],
            footer: {
              show: false,
              reducer: [
                'sum',
              ],
              fields: '',
            },
          },
          gridPos: {
            h: 8,
            w: 24,
            x: 0,
            y: 120,
          },
        },
        {
          id: 23,
          type: 'row',
          title: 'Exporter health',
          collapsed: true,
          panels: [
            {
              id: 24,
              type: 'state-timeline',
              title: 'Fleet sweep status',
              description: "gamelift_exporter_fleet_up per fleet: UP when the fleet's latest live pass succeeded and is fresh.",
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'gamelift_exporter_fleet_up{job=~"$job",fleet_id=~"$fleet"}',
                  legendFormat: '{{fleet_id}}',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  color: {
                    mode: 'thresholds',
                  },
                  mappings: [
                    {
                      type: 'value',
                      options: {
                        '0': {
                          text: 'DOWN',
                          color: 'red',
                          index: 0,
                        },
                        '1': {
                          text: 'UP',
                          color: 'green',
                          index: 1,
                        },
                      },
                    },
                  ],
                  min: 0,
                  max: 1,
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'red',
                        value: null,
                      },
                      {
                        color: 'green',
                        value: 1,
                      },
                    ],
                  },
                  custom: {
                    fillOpacity: 80,
                    lineWidth: 0,
                  },
                },
                overrides: [],
              },
              options: {
                showValue: 'never',
                mergeValues: true,
                alignValue: 'left',
                rowHeight: 0.9,
                legend: {
                  showLegend: false,
                  displayMode: 'list',
                  placement: 'bottom',
                },
                tooltip: {
                  mode: 'single',
                  sort: 'none',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 0,
                y: 129,
              },
            },
            {
              id: 25,
              type: 'timeseries',
              title: 'Time since last successful live pass',
              description: 'time() - gamelift_exporter_fleet_last_success_timestamp_seconds. GameLiftExporterFleetStale fires above %d seconds (%d live intervals of %ds).' % [c.fleetStaleIntervals * c.sweepIntervalSeconds, c.fleetStaleIntervals, c.sweepIntervalSeconds],
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'time() - gamelift_exporter_fleet_last_success_timestamp_seconds{job=~"$job",fleet_id=~"$fleet"}',
                  legendFormat: '{{fleet_id}}',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 's',
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 0,
                    gradientMode: 'none',
                    showPoints: 'never',
                    spanNulls: false,
                    axisPlacement: 'auto',
                    stacking: {
                      mode: 'none',
                      group: 'A',
                    },
                    thresholdsStyle: {
                      mode: 'dashed',
                    },
                  },
                  color: {
                    mode: 'palette-classic',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'orange',
                        value: 180,
                      },
                      {
                        color: 'red',
                        value: c.fleetStaleIntervals * c.sweepIntervalSeconds,
                      },
                    ],
                  },
                  mappings: [],
                  min: 0,
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                  calcs: [],
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 12,
                y: 129,
              },
              links: [
                {
                  title: 'Runbook: GameLiftExporterFleetStale',
                  url: c.runbookBaseUrl + '#gameliftexporterfleetstale',
                  targetBlank: true,
                },
              ],
            },
            {
              id: 26,
              type: 'timeseries',
              title: 'Slowest live pass',
              description: "gamelift_exporter_sweep_duration_seconds: the slowest of the fleets' latest complete live passes. It should stay well below the sweep interval (default 60s); see \"Pass duration by fleet\" for each fleet and the full passes.",
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'gamelift_exporter_sweep_duration_seconds{job=~"$job"}',
                  legendFormat: '{{instance}}',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 's',
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 0,
                    gradientMode: 'none',
                    showPoints: 'never',
                    spanNulls: false,
                    axisPlacement: 'auto',
                    stacking: {
                      mode: 'none',
                      group: 'A',
                    },
                    thresholdsStyle: {
                      mode: 'dashed',
                    },
                  },
                  color: {
                    mode: 'palette-classic',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'orange',
                        value: 30,
                      },
                      {
                        color: 'red',
                        value: 60,
                      },
                    ],
                  },
                  mappings: [],
                  min: 0,
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                  calcs: [],
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 0,
                y: 137,
              },
            },
            {
              id: 27,
              type: 'timeseries',
              title: 'GameLift API requests by operation',
              description: 'Requests the exporter sends to the GameLift API per second, every retry included, per account, Region and operation (gamelift_exporter_api_requests_total).',
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'sum by (account, region, operation) (rate(gamelift_exporter_api_requests_total{job=~"$job",account=~"$account"}[$__rate_interval]))',
                  legendFormat: '{{account}} {{region}} {{operation}}',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 'reqps',
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 10,
                    gradientMode: 'none',
                    showPoints: 'never',
                    spanNulls: false,
                    axisPlacement: 'auto',
                    stacking: {
                      mode: 'none',
                      group: 'A',
                    },
                    thresholdsStyle: {
                      mode: 'off',
                    },
                  },
                  color: {
                    mode: 'palette-classic',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                    ],
                  },
                  mappings: [],
                  min: 0,
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                  calcs: [],
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 12,
                y: 137,
              },
            },
            {
              id: 28,
              type: 'timeseries',
              title: 'GameLift API failures by reason',
              description: 'Failed GameLift API requests per second by account and reason (throttled, not_found, unauthorized, invalid_request, server_error, timeout, transport, other; operation AssumeRole for an account whose role cannot be assumed). "none" is shown while no request has failed.',
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'sum by (account, reason) (rate(gamelift_exporter_api_request_failures_total{job=~"$job",account=~"$account"}[$__rate_interval])) or on() label_replace(vector(0), "reason", "none", "", "")',
                  legendFormat: '{{account}} {{reason}}',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 'reqps',
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 10,
                    gradientMode: 'none',
                    showPoints: 'never',
                    spanNulls: false,
                    axisPlacement: 'auto',
                    stacking: {
                      mode: 'none',
                      group: 'A',
                    },
                    thresholdsStyle: {
                      mode: 'off',
                    },
                  },
                  color: {
                    mode: 'palette-classic',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                    ],
                  },
                  mappings: [],
                  min: 0,
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                  calcs: [],
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 0,
                y: 145,
              },
            },
            {
              id: 29,
              type: 'timeseries',
              title: 'Throttled share of API requests',
              description: 'Recording rule instance_operation:gamelift_exporter_api_requests_throttled:ratio_rate10m, per exporter, account, Region and operation (GameLift quotas are per account, Region and operation). GameLiftApiThrottlingSustained fires above %s for 15 minutes.' % percent(c.throttledRatio),
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'instance_operation:gamelift_exporter_api_requests_throttled:ratio_rate10m{job=~"$job",account=~"$account"}',
                  legendFormat: '{{instance}} {{account}} {{region}} {{operation}}',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 'percentunit',
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 0,
                    gradientMode: 'none',
                    showPoints: 'never',
                    spanNulls: false,
                    axisPlacement: 'auto',
                    stacking: {
                      mode: 'none',
                      group: 'A',
                    },
                    thresholdsStyle: {
                      mode: 'dashed',
                    },
                  },
                  color: {
                    mode: 'palette-classic',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'red',
                        value: c.throttledRatio,
                      },
                    ],
                  },
                  mappings: [],
                  min: 0,
                  max: 1,
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                  calcs: [],
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 12,
                y: 145,
              },
              links: [
                {
                  title: 'Runbook: GameLiftApiThrottlingSustained',
                  url: c.runbookBaseUrl + '#gameliftapithrottlingsustained',
                  targetBlank: true,
                },
              ],
            },
            {
              id: 35,
              type: 'timeseries',
              title: 'Time since last full pass',
              description: "time() - gamelift_exporter_fleet_last_full_pass_timestamp_seconds: the age of each fleet's TERMINATED and ERROR counts. A full pass runs every sweep.history_interval (default 1h) in the background; GameLiftExporterFullPassOverdue fires above %d hours. No line until a fleet's first full pass after a start has completed." % c.fullPassOverdueHours,
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'time() - gamelift_exporter_fleet_last_full_pass_timestamp_seconds{job=~"$job",fleet_id=~"$fleet"}',
                  legendFormat: '{{fleet_id}}',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 's',
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 0,
                    gradientMode: 'none',
                    showPoints: 'never',
                    spanNulls: false,
                    axisPlacement: 'auto',
                    stacking: {
                      mode: 'none',
                      group: 'A',
                    },
                    thresholdsStyle: {
                      mode: 'dashed',
                    },
                  },
                  color: {
                    mode: 'palette-classic',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'orange',
                        value: 7200,
                      },
                      {
                        color: 'red',
                        value: c.fullPassOverdueHours * 3600,
                      },
                    ],
                  },
                  mappings: [],
                  min: 0,
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                  calcs: [],
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 0,
                y: 153,
              },
              links: [
                {
                  title: 'Runbook: GameLiftExporterFullPassOverdue',
                  url: c.runbookBaseUrl + '#gameliftexporterfullpassoverdue',
                  targetBlank: true,
                },
              ],
            },
            {
              id: 36,
              type: 'timeseries',
              title: 'Pass duration by fleet',
              description: "gamelift_exporter_fleet_pass_duration_seconds: wall-clock duration of each fleet's latest complete live pass (should stay well below sweep.interval, default 60s) and full pass (should stay well below sweep.history_interval, default 1h).",
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'gamelift_exporter_fleet_pass_duration_seconds{job=~"$job",fleet_id=~"$fleet"}',
                  legendFormat: '{{fleet_id}} {{pass}}',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 's',
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 0,
                    gradientMode: 'none',
                    showPoints: 'never',
                    spanNulls: false,
                    axisPlacement: 'auto',
                    stacking: {
                      mode: 'none',
                      group: 'A',
                    },
                    thresholdsStyle: {
                      mode: 'off',
                    },
                  },
                  color: {
                    mode: 'palette-classic',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                    ],
                  },
                  mappings: [],
                  min: 0,
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                  calcs: [],
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 12,
                y: 153,
              },
            },
            {
              id: 37,
              type: 'timeseries',
              title: 'Request budget in force',
              description: "gamelift_exporter_request_budget_per_second: each request budget in force, per exporter, account, Region and operation. Every operation has its own budget, AWS's rate quota for it (20/s DescribeGameSessions, 30/s the others) times aws.quota_share, under the overall cap aws.max_requests_per_second (operation \"all\"). GameLift throttling halves a budget, which then recovers gradually: a solid line below its dashed configured rate (gamelift_exporter_request_budget_configured_per_second) means it was throttled recently.",
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'gamelift_exporter_request_budget_per_second{job=~"$job",account=~"$account"}',
                  legendFormat: '{{instance}} {{account}} {{region}} {{operation}}',
                },
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'B',
                  expr: 'gamelift_exporter_request_budget_configured_per_second{job=~"$job",account=~"$account"}',
                  legendFormat: '{{instance}} {{account}} {{region}} {{operation}} configured',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 'reqps',
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 0,
                    gradientMode: 'none',
                    showPoints: 'never',
                    spanNulls: false,
                    axisPlacement: 'auto',
                    stacking: {
                      mode: 'none',
                      group: 'A',
                    },
                    thresholdsStyle: {
                      mode: 'off',
                    },
                  },
                  color: {
                    mode: 'palette-classic',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                    ],
                  },
                  mappings: [],
                  min: 0,
                },
                overrides: [
                  {
                    matcher: {
                      id: 'byRegexp',
                      options: '.* configured$',
                    },
                    properties: [
                      {
                        id: 'custom.lineStyle',
                        value: {
                          fill: 'dash',
                          dash: [
                            10,
                            10,
                          ],
                        },
                      },
                    ],
                  },
                ],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                  calcs: [],
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 0,
                y: 161,
              },
            },
            {
              id: 38,
              type: 'timeseries',
              title: 'Config reloads and state-file writes',
              description: 'gamelift_exporter_config_last_reload_successful (1 = the running configuration is the file on disk; 0 = the last reload failed and the previous configuration still runs) and failed writes of the state file per rate interval (gamelift_exporter_state_write_failures_total; while they fail, a restart loses the interruption ledger and event positions since the last good write).',
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'gamelift_exporter_config_last_reload_successful{job=~"$job"}',
                  legendFormat: '{{instance}} last reload successful',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'B',
                  expr: 'increase(gamelift_exporter_state_write_failures_total{job=~"$job"}[$__rate_interval])',
                  legendFormat: '{{instance}} state write failures',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 'short',
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 0,
                    gradientMode: 'none',
                    showPoints: 'never',
                    spanNulls: false,
                    axisPlacement: 'auto',
                    stacking: {
                      mode: 'none',
                      group: 'A',
                    },
                    thresholdsStyle: {
                      mode: 'off',
                    },
                  },
                  color: {
                    mode: 'palette-classic',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                    ],
                  },
                  mappings: [],
                  min: 0,
                  decimals: 0,
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                  calcs: [],
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              gridPos: {
                h: 8,
                w: 12,
                x: 12,
                y: 161,
              },
            },
            {
              id: 60,
              type: 'state-timeline',
              title: 'Fleet events poll status',
              description: "gamelift_exporter_fleet_events_up per fleet: OK when the events poll (DescribeFleetEvents) of the fleet's latest live pass completed, FAILING when it failed (a missing gamelift:DescribeFleetEvents IAM action, throttling). The session series still publish meanwhile; fleet events and the spot-interruption lookups they trigger wait for a poll that completes. No series before the fleet's first live pass. GameLiftExporterFleetEventsDown fires after %s of FAILING." % c.fleetEventsDownFor,
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'gamelift_exporter_fleet_events_up{job=~"$job",fleet_id=~"$fleet"}',
                  legendFormat: '{{fleet_id}}',
                  range: true,
                  instant: false,
                  editorMode: 'code',
                },
              ],
              fieldConfig: {
                defaults: {
                  color: {
                    mode: 'thresholds',
                  },
                  mappings: [
                    {
                      type: 'value',
                      options: {
                        '0': {
                          text: 'FAILING',
                          color: 'red',
                          index: 0,
                        },
                        '1': {
                          text: 'OK',
                          color: 'green',
                          index: 1,
                        },
                      },
                    },
                  ],
                  min: 0,
                  max: 1,
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'red',
                        value: null,
                      },
                      {
                        color: 'green',
                        value: 1,
                      },
                    ],
                  },
                  custom: {
                    fillOpacity: 80,
                    lineWidth: 0,
                  },
                },
                overrides: [],
              },
              options: {
                showValue: 'never',
                mergeValues: true,
                alignValue: 'left',
                rowHeight: 0.9,
                legend: {
                  showLegend: false,
                  displayMode: 'list',
                  placement: 'bottom',
                },
                tooltip: {
                  mode: 'single',
                  sort: 'none',
                },
              },
              gridPos: {
                h: 8,
                w: 24,
                x: 0,
                y: 169,
              },
              links: [
                {
                  title: 'Runbook: GameLiftExporterFleetEventsDown',
                  url: c.runbookBaseUrl + '#gameliftexporterfleeteventsdown',
                  targetBlank: true,
                },
              ],
            },
            {
              id: 30,
              type: 'table',
              title: 'Exporter build',
              description: 'gamelift_exporter_build_info of every scraped exporter.',
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'gamelift_exporter_build_info{job=~"$job"}',
                  legendFormat: '',
                  range: false,
                  instant: true,
                  editorMode: 'code',
                  format: 'table',
                },
              ],
              fieldConfig: {
                defaults: {
                  custom: {
                    align: 'auto',
                    cellOptions: {
                      type: 'auto',
                    },
                  },
                  color: {
                    mode: 'thresholds',
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                    ],
                  },
                  mappings: [],
                },
                overrides: [],
              },
              transformations: [
                {
                  id: 'organize',
                  options: {
                    excludeByName: {
                      Time: true,
                      __name__: true,
                      Value: true,
                    },
                  },
                },
              ],
              options: {
                showHeader: true,
                cellHeight: 'sm',
                footer: {
                  show: false,
                  reducer: [
                    'sum',
                  ],
                  fields: '',
                },
              },
              gridPos: {
                h: 5,
                w: 24,
                x: 0,
                y: 185,
              },
            },
            {
              id: 56,
              type: 'timeseries',
              title: 'Accounts up',
              description: "gamelift_exporter_account_up per account: 1 while the account's credentials work (its role can be assumed) and its latest discovery succeeded in all its Regions. An account at 0 publishes no fleet series, so no fleet alert fires for it: GameLiftExporterAccountDown.",
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              gridPos: {
                h: 8,
                w: 8,
                x: 0,
                y: 177,
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'gamelift_exporter_account_up{job=~"$job",account=~"$account"}',
                  legendFormat: '{{instance}} {{account}}',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 'none',
                  custom: {
                    thresholdsStyle: {
                      mode: 'off',
                    },
                  },
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              links: [
                {
                  title: 'Runbook: GameLiftExporterAccountDown',
                  url: c.runbookBaseUrl + '#gameliftexporteraccountdown',
                  targetBlank: true,
                },
              ],
            },
            {
              id: 57,
              type: 'timeseries',
              title: 'Effective live interval',
              description: 'gamelift_exporter_effective_interval_seconds per account and Region: the live interval the account-Region holds, sweep.interval, or longer when the request budgets cannot pay for every fleet at that interval (dashed: the configured %ds; GameLiftExporterEffectiveIntervalHigh fires above it for 30 minutes).' % c.sweepIntervalSeconds,
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              gridPos: {
                h: 8,
                w: 8,
                x: 8,
                y: 177,
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'gamelift_exporter_effective_interval_seconds{job=~"$job",account=~"$account"}',
                  legendFormat: '{{instance}} {{account}} {{region}}',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 's',
                  custom: {
                    thresholdsStyle: {
                      mode: 'dashed',
                    },
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'red',
                        value: c.sweepIntervalSeconds,
                      },
                    ],
                  },
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              links: [
                {
                  title: 'Runbook: GameLiftExporterEffectiveIntervalHigh',
                  url: c.runbookBaseUrl + '#gameliftexportereffectiveintervalhigh',
                  targetBlank: true,
                },
              ],
            },
            {
              id: 58,
              type: 'timeseries',
              title: 'Time since last capacity cycle',
              description: 'time() - gamelift_exporter_fleet_capacity_last_success_timestamp_seconds per fleet and kind (instances, utilization): the age of the capacity series (refreshed every sweep.capacity_interval). GameLiftExporterCapacityStale fires above %d seconds. Empty with capacity_interval = "0s".' % (c.capacityStaleIntervals * c.capacityIntervalSeconds),
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              gridPos: {
                h: 8,
                w: 8,
                x: 16,
                y: 177,
              },
              targets: [
                {
                  datasource: {
                    type: 'prometheus',
                    uid: '${datasource}',
                  },
                  refId: 'A',
                  expr: 'time() - gamelift_exporter_fleet_capacity_last_success_timestamp_seconds{job=~"$job",fleet_id=~"$fleet"}',
                  legendFormat: '{{fleet_id}} {{kind}}',
                },
              ],
              fieldConfig: {
                defaults: {
                  unit: 's',
                  custom: {
                    thresholdsStyle: {
                      mode: 'dashed',
                    },
                  },
                  thresholds: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'red',
                        value: c.capacityStaleIntervals * c.capacityIntervalSeconds,
                      },
                    ],
                  },
                },
                overrides: [],
              },
              options: {
                legend: {
                  displayMode: 'list',
                  placement: 'bottom',
                  showLegend: true,
                },
                tooltip: {
                  mode: 'multi',
                  sort: 'desc',
                },
              },
              links: [
                {
                  title: 'Runbook: GameLiftExporterCapacityStale',
                  url: c.runbookBaseUrl + '#gameliftexportercapacitystale',
                  targetBlank: true,
                },
              ],
            },
          ],
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 128,
          },
        },
      ],
      __requires: [
        {
          type: 'grafana',
          id: 'grafana',
          name: 'Grafana',
          version: '10.4.0',
        },
        {
          type: 'datasource',
          id: 'prometheus',
          name: 'Prometheus',
          version: '1.0.0',
        },
      ],
    },
  },
}
