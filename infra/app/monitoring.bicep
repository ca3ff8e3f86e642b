// Log Analytics workspace and workspace-based Application Insights. Local (key) authentication is
// off on both: the Function App publishes telemetry with its managed identity
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING + Monitoring Metrics Publisher in rbac.bicep).

@description('Name of the Log Analytics workspace.')
@minLength(4)
@maxLength(63)
param logAnalyticsName string

@description('Name of the Application Insights component.')
@minLength(1)
@maxLength(260)
param applicationInsightsName string

@description('Azure region of the monitoring resources.')
param location string

@description('Tags applied to the monitoring resources.')
param tags object = {}

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

@description('Seconds the oldest outbox entry may wait before the backlog alert fires (a destination down, a relay stuck).')
@minValue(60)
@maxValue(86400)
param outboxBacklogAlertSeconds int = 900

// The outbox backlog is the one place a destination outage shows while ingestion goes on: alert on
// the age of its oldest entry (the timer records squall.outbox.backlog_age every minute).
resource outboxBacklogAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${applicationInsightsName}-outbox-backlog'
  location: location
  tags: tags
  properties: {
    displayName: 'Squall: outbox backlog older than ${outboxBacklogAlertSeconds} s'
    description: 'Actions wait in the outbox: a destination is down or its credentials expired. Ingestion goes on; the backlog drains once it is back.'
    severity: 2
    enabled: true
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    scopes: [
      logAnalytics.id
    ]
    criteria: {
      allOf: [
        {
          query: 'AppMetrics | where Name == "squall.outbox.backlog_age" | project TimeGenerated, AgeSeconds = Max'
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'AgeSeconds'
          operator: 'GreaterThan'
          threshold: outboxBacklogAlertSeconds
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
  }
}

output applicationInsightsName string = applicationInsights.name
output logAnalyticsName string = logAnalytics.name
