// Alerts on Squall's own metrics (AppMetrics in the Log Analytics workspace), one row per alert, and
// where they are sent. The KQL lives in ./kql/ (docs/observability.md shows the same queries).
//
// | alert            | metric                                            | fires when                         |
// |------------------|---------------------------------------------------|------------------------------------|
// | outbox-backlog   | squall.outbox.backlog_age                         | oldest waiting action > threshold  |
// | dead-letter-rate | squall.events {outcome}                           | dead-lettered share > threshold %  |
// | open-circuit     | squall.delivery.attempts {failure=circuit_open}   | any action refused by a breaker    |
// | consumer-lag     | squall.ingest.lag {partition}                     | a partition lags the hub > threshold |

@description('Name of the Log Analytics workspace the alerts query.')
param logAnalyticsName string

@description('Name of the Application Insights component (prefix of the alert names).')
param applicationInsightsName string

@description('Azure region of the alert rules.')
param location string

@description('Tags applied to the alert rules and the action group.')
param tags object = {}

@description('Seconds the oldest outbox entry may wait before the backlog alert fires (a destination down, a relay stuck).')
@minValue(60)
@maxValue(86400)
param outboxBacklogAlertSeconds int = 900

@description('Percent of incoming events dead-lettered in 5 minutes above which the dead-letter alert fires.')
@minValue(1)
@maxValue(100)
param deadLetterAlertPercent int = 5

@description('Seconds a partition may lag behind the hub (now minus the newest enqueued time processed) before the lag alert fires.')
@minValue(60)
@maxValue(86400)
param consumerLagAlertSeconds int = 600

@description('E-mail address the alerts are sent to (an action group is created); empty for none.')
param alertEmailAddress string = ''

@description('Resource id of an existing action group the alerts are sent to; empty for none.')
param alertActionGroupId string = ''

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsName
}

var emailGroupName = '${applicationInsightsName}-alerts'

resource emailGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmailAddress)) {
  name: emailGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'squall'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

var existingGroups = empty(alertActionGroupId) ? [] : [alertActionGroupId]
var emailGroups = empty(alertEmailAddress) ? [] : [resourceId('Microsoft.Insights/actionGroups', emailGroupName)]
var actionGroups = concat(existingGroups, emailGroups)

var alerts = [
  {
    key: 'outbox-backlog'
    displayName: 'Squall: outbox backlog older than ${outboxBacklogAlertSeconds} s'
    description: 'Actions wait in the outbox: a destination is down or its credentials expired. Ingestion goes on; the backlog drains once it is back.'
    severity: 2
    query: loadTextContent('kql/alert-outbox-backlog.kql')
    column: 'AgeSeconds'
    threshold: outboxBacklogAlertSeconds
  }
  {
    key: 'dead-letter-rate'
    displayName: 'Squall: over ${deadLetterAlertPercent}% of events dead-lettered'
    description: 'Events are dead-lettered (unparseable, unknown format, event time out of bounds): a producer changed its format or its clock. `squall deadletter list` shows the reasons.'
    severity: 2
    query: loadTextContent('kql/alert-dead-letter-rate.kql')
    column: 'DeadLetterPercent'
    threshold: deadLetterAlertPercent
  }
  {
    key: 'open-circuit'
    displayName: 'Squall: a destination circuit is open'
    description: 'A destination failed for every delivery in a row and its circuit breaker opened: actions wait in the outbox until a probe succeeds.'
    severity: 1
    query: loadTextContent('kql/alert-open-circuit.kql')
    column: 'Refused'
    threshold: 0
  }
  {
    key: 'consumer-lag'
    displayName: 'Squall: a partition lags the hub by more than ${consumerLagAlertSeconds} s'
    description: 'The Event Hubs trigger falls behind: events wait in the hub (retention is short). Check instance count, batch duration and the store\'s throttling.'
    severity: 2
    query: loadTextContent('kql/alert-consumer-lag.kql')
    column: 'LagSeconds'
    threshold: consumerLagAlertSeconds
  }
]

resource alert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [
  for entry in alerts: {
    name: '${applicationInsightsName}-${entry.key}'
    location: location
    tags: tags
    dependsOn: [
      emailGroup
    ]
    properties: {
      displayName: entry.displayName
      description: entry.description
      severity: entry.severity
      enabled: true
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      scopes: [
        logAnalytics.id
      ]
      criteria: {
        allOf: [
          {
            query: entry.query
            timeAggregation: 'Maximum'
            metricMeasureColumn: entry.column
            operator: 'GreaterThan'
            threshold: entry.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      actions: {
        actionGroups: actionGroups
      }
    }
  }
]
