// An Azure Monitor workbook on the Application Insights component: what Squall did, over time.
// The KQL lives in ./kql/ (docs/observability.md shows the same queries).

@description('Name of the Application Insights component the workbook queries.')
param applicationInsightsName string

@description('Azure region of the workbook.')
param location string

@description('Tags applied to the workbook.')
param tags object = {}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var charts = [
  {
    name: 'firings-per-rule'
    title: 'Firings per rule (squall.rule.firings, by rule id and mode)'
    query: loadTextContent('kql/workbook-firings-per-rule.kql')
  }
  {
    name: 'dead-letters'
    title: 'Dead letters: events and actions (squall.events, squall.actions)'
    query: loadTextContent('kql/workbook-dead-letters.kql')
  }
  {
    name: 'outbox-backlog'
    title: 'Outbox backlog: actions waiting, age of the oldest in s'
    query: loadTextContent('kql/workbook-backlog.kql')
  }
  {
    name: 'consumer-lag'
    title: 'Consumer lag per partition in s (squall.ingest.lag)'
    query: loadTextContent('kql/workbook-consumer-lag.kql')
  }
]

var aboutItem = {
  type: 1
  name: 'about'
  content: {
    json: '## Squall\nRule firings, dead letters, the outbox backlog and consumer lag. Queries: docs/observability.md.'
  }
}

var chartItems = [
  for chart in charts: {
    type: 3
    name: chart.name
    content: {
      version: 'KqlItem/1.0'
      query: chart.query
      size: 0
      title: chart.title
      timeContext: {
        durationMs: 86400000
      }
      queryType: 0
      resourceType: 'microsoft.insights/components'
      visualization: 'timechart'
    }
  }
]

var workbookContent = {
  version: 'Notebook/1.0'
  items: concat([aboutItem], chartItems)
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsights.id, 'squall-operations')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Squall operations'
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: string(workbookContent)
  }
}

output workbookId string = workbook.id
