// Helpers shared by the rules, alerts and dashboard.
{
  // YAML's folded scalar (`>-`): the lines of a text block joined by single spaces, so that
  // long annotations read well here and come out as one line.
  fold(text)::
    std.join(' ', std.filter(function(l) l != '', [std.stripChars(l, ' ') for l in std.split(text, '\n')])),

  // The anchor of an alert in docs/runbooks.md: its heading `## <Alert>`, as Git hosts slug it.
  anchor(alert):: std.asciiLower(alert),

  // The alert groups that are on, as Prometheus rule groups.
  enabledGroups(config, groups)::
    [
      { name: g.name, rules: g.rules }
      for g in groups
      if std.get(config.groups, g.key, false)
    ],

  // Adds runbook_url to every alert of a group list.
  withRunbooks(config, groups)::
    [
      g { rules: [r { annotations+: { runbook_url: config.runbookBaseUrl + '#' + $.anchor(r.alert) } } for r in g.rules] }
      for g in groups
    ],
}
