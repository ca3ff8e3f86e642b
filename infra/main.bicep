// Squall on Azure: Event Hubs -> Flex Consumption Function App -> Cosmos DB / Marketing Cloud.
// Resource-group scoped: infra/deploy.sh creates the group, `azd up` deploys into AZURE_RESOURCE_GROUP.
// One user-assigned identity, identity-based connections only, local auth and shared keys off.

targetScope = 'resourceGroup'

// --- Environment ---------------------------------------------------------------------------------

@description('Name of the environment (azd AZURE_ENV_NAME); seeds the unique suffix of every resource name.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region of every resource; it must offer the Flex Consumption plan.')
@minLength(1)
@metadata({
  azd: {
    type: 'location'
  }
})
param location string = resourceGroup().location

@description('Optional principal id (a developer or a producer app) granted Azure Event Hubs Data Sender on the hub; empty for none.')
param senderPrincipalId string = ''

@description('Type of senderPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param senderPrincipalType string = 'User'

// --- Scale ---------------------------------------------------------------------------------------
// The capacity defaults below follow from this one figure (docs/performance.md, "Capacity and cost
// on paper"): 3x the average rate at peak, ~2 RU per event (measured: `squall bench --store cosmos`).

@description('Events a day the deployment is sized for: the Event Hubs throughput units, the Cosmos DB capacity mode and its autoscale ceiling follow from it. 20 million or fewer: serverless Cosmos DB.')
@minValue(1000)
@maxValue(2000000000)
param eventsPerDay int = 1000000000

// --- Event Hubs ----------------------------------------------------------------------------------

@description('Name of the event hub the usage events arrive on.')
@minLength(1)
@maxLength(256)
param eventHubName string = 'usage-events'

@description('Partitions of the hub; fixed after creation on the Standard tier (at most 32).')
@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 32

@description('Days the hub keeps events (Standard tier: 1-7).')
@minValue(1)
@maxValue(7)
param eventHubRetentionDays int = 1

@description('Throughput units of the Standard Event Hubs namespace (1,000 events/s of ingress each): by default the peak of eventsPerDay.')
@minValue(1)
@maxValue(40)
param eventHubThroughputUnits int = min(40, max(1, (eventsPerDay * 3 / 86400 + 999) / 1000))

@description('Consumer group the Function App reads with.')
@minLength(1)
@maxLength(50)
param eventHubConsumerGroup string = 'squall'

// Capture keeps the history the hub's retention drops, for `squall backfill` (docs/history.md).
// On the Standard tier it is billed per throughput unit and hour (docs/performance.md, capacity).

@description('Archive every event as Avro into the storage account\'s `capture` container (Event Hubs Capture); false turns it off.')
param captureEnabled bool = true

@description('Seconds a capture window stays open before its file is written (60-900).')
@minValue(60)
@maxValue(900)
param captureIntervalSeconds int = 300

@description('Bytes a capture window may hold before its file is written (10-500 MB).')
@minValue(10485760)
@maxValue(524288000)
param captureSizeLimitBytes int = 314572800

@description('Days captured Avro files are kept in the `capture` container before a lifecycle rule deletes them.')
@minValue(1)
@maxValue(3650)
param captureRetentionDays int = 30

// --- Cosmos DB -----------------------------------------------------------------------------------

@description('Cosmos DB capacity: `serverless` (pay per request) or `autoscale` (provisioned, shared by the containers).')
@allowed([
  'serverless'
  'autoscale'
])
param cosmosCapacityMode string = eventsPerDay <= 20000000 ? 'serverless' : 'autoscale'

@description('Autoscale ceiling in RU/s when cosmosCapacityMode is `autoscale`: by default the peak of eventsPerDay at 2 RU per event.')
@minValue(1000)
@maxValue(1000000)
param cosmosAutoscaleMaxThroughput int = max(1000, (eventsPerDay * 3 / 86400 * 2 + 999) / 1000 * 1000)

@description('Seconds the keys of dead-lettered messages are remembered (Cosmos `dedupe` TTL and SQUALL_DEDUPE_TTL_S).')
@minValue(60)
@maxValue(2147483647)
param dedupeTtlSeconds int = 604800

@description('Seconds a settled outbox document keeps its action keys, so a replayed batch plans nothing twice: at least the Event Hubs retention (SQUALL_OUTBOX_TOMBSTONE_TTL_S).')
@minValue(60)
@maxValue(2147483647)
param outboxTombstoneTtlSeconds int = 86400

// --- Function App --------------------------------------------------------------------------------

@description('Maximum instances the Function App scales out to (Flex Consumption: 40-1000).')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

@description('Memory of each Function App instance in MB.')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

@description('Name of the rule set the app runs (SQUALL_RULESET).')
@minLength(1)
@maxLength(128)
param ruleset string = 'default'

@description('Format of incoming events (SQUALL_EVENT_FORMAT).')
@allowed([
  'auto'
  'o365'
  'cloudevents'
  'eventgrid'
  'iothub'
  'json'
])
param eventFormat string = 'auto'

@description('For plain JSON events: JSON object mapping canonical fields to source field paths (SQUALL_JSON_FIELD_MAP); empty for none.')
param jsonFieldMap string = ''

@description('How far an event time may be ahead of its enqueued time before the event is dead-lettered (SQUALL_MAX_CLOCK_SKEW): seconds or an ISO 8601 duration.')
@minLength(1)
param maxClockSkew string = '300'

@description('When set, events older than this behind their enqueued time are dead-lettered as stale (SQUALL_MAX_EVENT_AGE): seconds or an ISO 8601 duration; empty for no limit.')
param maxEventAge string = ''

@description('How the delivery audit log names an entity: `hash` (SHA-256 of its key) or `key` (the key itself) (SQUALL_AUDIT_ENTITY).')
@allowed([
  'hash'
  'key'
])
param auditEntity string = 'hash'

// --- Alerts (infra/app/alerts.bicep) -------------------------------------------------------------

@description('E-mail address Squall\'s alerts are sent to (an action group is created); empty for none.')
param alertEmailAddress string = ''

@description('Resource id of an existing action group Squall\'s alerts are sent to; empty for none.')
param alertActionGroupId string = ''

@description('Seconds the oldest outbox entry may wait before the backlog alert fires.')
@minValue(60)
@maxValue(86400)
param outboxBacklogAlertSeconds int = 900

@description('Percent of incoming events dead-lettered in 5 minutes above which the dead-letter alert fires.')
@minValue(1)
@maxValue(100)
param deadLetterAlertPercent int = 5

@description('Seconds a partition may lag behind the hub before the consumer-lag alert fires.')
@minValue(60)
@maxValue(86400)
param consumerLagAlertSeconds int = 600

// --- Salesforce Marketing Cloud ------------------------------------------------------------------

@description('Marketing Cloud tenant auth base URL, e.g. https://SUBDOMAIN.auth.marketingcloudapis.com')
@minLength(8)
param sfmcAuthBaseUrl string

@description('Marketing Cloud tenant REST base URL, e.g. https://SUBDOMAIN.rest.marketingcloudapis.com')
@minLength(8)
param sfmcRestBaseUrl string

@description('Marketing Cloud installed-package client id.')
@minLength(1)
param sfmcClientId string

@description('Marketing Cloud installed-package client secret; stored in Key Vault only.')
@secure()
@minLength(1)
param sfmcClientSecret string

@description('Marketing Cloud business unit MID; empty for the installed package default.')
param sfmcAccountId string = ''

@description('Journey entries one per call (`sync`) or up to 100 per async batch call (`async`) (SFMC_JOURNEY_ENTRY_MODE).')
@allowed([
  'sync'
  'async'
])
param sfmcJourneyEntryMode string = 'sync'

// --- Signed webhooks -----------------------------------------------------------------------------

@description('JSON object of webhook destinations by name, e.g. {"crm": {"url": "https://..."}} (SQUALL_WEBHOOKS); no secrets here; empty for none.')
param webhooks string = ''

@description('JSON object of webhook signing secrets by name, e.g. {"crm": "..."} (SQUALL_WEBHOOK_SECRETS); stored in Key Vault only; empty for none.')
@secure()
param webhookSecrets string = ''

// --- Amazon EventBridge ---------------------------------------------------------------------------

@description('JSON object of EventBridge destinations by name, e.g. {"aws": {"event_bus_name": "marketing", "source": "com.example.squall", "region": "eu-west-1"}} (SQUALL_EVENTBRIDGE); no credentials here (the standard AWS chain supplies them); empty for none.')
param eventbridge string = ''

// --- Names ---------------------------------------------------------------------------------------

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'squall'
}
var cosmosDatabaseName = 'squall'
var deadLetterContainerName = 'deadletter'
var captureContainerName = 'capture'
var deploymentContainerName = 'app-package'
var sfmcClientSecretName = 'sfmc-client-secret'
var webhookSecretsName = 'squall-webhook-secrets'

// --- Resources -----------------------------------------------------------------------------------

module identity './app/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${abbrs.managedIdentity}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: '${abbrs.logAnalytics}${resourceToken}'
    applicationInsightsName: '${abbrs.appInsights}${resourceToken}'
    location: location
    tags: tags
  }
}

module alerts './app/alerts.bicep' = {
  name: 'alerts'
  params: {
    logAnalyticsName: monitoring.outputs.logAnalyticsName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    outboxBacklogAlertSeconds: outboxBacklogAlertSeconds
    deadLetterAlertPercent: deadLetterAlertPercent
    consumerLagAlertSeconds: consumerLagAlertSeconds
    alertEmailAddress: alertEmailAddress
    alertActionGroupId: alertActionGroupId
  }
}

module workbook './app/workbook.bicep' = {
  name: 'workbook'
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
  }
}

module eventHubs './app/eventhubs.bicep' = {
  name: 'eventhubs'
  params: {
    name: '${abbrs.eventHubNamespace}${resourceToken}'
    location: location
    tags: tags
    eventHubName: eventHubName
    partitionCount: eventHubPartitionCount
    messageRetentionInDays: eventHubRetentionDays
    capacity: eventHubThroughputUnits
    consumerGroupName: eventHubConsumerGroup
    captureEnabled: captureEnabled
    captureStorageAccountId: storage.outputs.id
    captureContainerName: storage.outputs.captureContainerName
    captureIdentityId: identity.outputs.id
    captureIntervalSeconds: captureIntervalSeconds
    captureSizeLimitBytes: captureSizeLimitBytes
  }
}

module cosmos './app/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    accountName: '${abbrs.cosmosAccount}${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
    capacityMode: cosmosCapacityMode
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    dedupeTtlSeconds: dedupeTtlSeconds
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  params: {
    name: '${abbrs.storageAccount}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    captureContainerName: captureContainerName
    captureRetentionDays: captureRetentionDays
  }
}

module keyVault './app/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: '${abbrs.keyVault}${resourceToken}'
    location: location
    tags: tags
    sfmcClientSecretName: sfmcClientSecretName
    sfmcClientSecret: sfmcClientSecret
    webhookSecretsName: webhookSecretsName
    // An empty JSON object when there are none, so the app's Key Vault reference always resolves.
    webhookSecrets: empty(webhookSecrets) ? '{}' : webhookSecrets
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  params: {
    appPrincipalId: identity.outputs.principalId
    senderPrincipalId: senderPrincipalId
    senderPrincipalType: senderPrincipalType
    eventHubNamespaceName: eventHubs.outputs.namespaceName
    eventHubName: eventHubs.outputs.eventHubName
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    cosmosAccountName: cosmos.outputs.accountName
    cosmosDatabaseName: cosmos.outputs.databaseName
  }
}

module api './app/api.bicep' = {
  name: 'api'
  // The app resolves its Key Vault reference and reaches storage at start: grant first.
  dependsOn: [
    rbac
  ]
  params: {
    name: '${abbrs.functionApp}api-${resourceToken}'
    planName: '${abbrs.functionPlan}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    blobServiceUri: storage.outputs.blobServiceUri
    deploymentContainerName: storage.outputs.deploymentContainerName
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    eventHubFullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
    eventHubName: eventHubs.outputs.eventHubName
    eventHubConsumerGroup: eventHubs.outputs.consumerGroupName
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    cosmosRulesContainerName: cosmos.outputs.rulesContainerName
    cosmosStateContainerName: cosmos.outputs.stateContainerName
    cosmosDedupeContainerName: cosmos.outputs.dedupeContainerName
    cosmosOutboxContainerName: cosmos.outputs.outboxContainerName
    cosmosLeasesContainerName: cosmos.outputs.leasesContainerName
    outboxTombstoneTtlSeconds: outboxTombstoneTtlSeconds
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    sfmcClientSecretUri: keyVault.outputs.sfmcClientSecretUri
    sfmcAuthBaseUrl: sfmcAuthBaseUrl
    sfmcRestBaseUrl: sfmcRestBaseUrl
    sfmcClientId: sfmcClientId
    sfmcAccountId: sfmcAccountId
    sfmcJourneyEntryMode: sfmcJourneyEntryMode
    webhooks: webhooks
    webhookSecretsUri: keyVault.outputs.webhookSecretsUri
    eventbridge: eventbridge
    ruleset: ruleset
    eventFormat: eventFormat
    jsonFieldMap: jsonFieldMap
    dedupeTtlSeconds: dedupeTtlSeconds
    maxClockSkew: maxClockSkew
    maxEventAge: maxEventAge
    auditEntity: auditEntity
  }
}

// --- Outputs: what a sender and an operator need; never a key or a secret -------------------------

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output EVENTHUB_FULLY_QUALIFIED_NAMESPACE string = eventHubs.outputs.fullyQualifiedNamespace
output EVENTHUB_NAME string = eventHubs.outputs.eventHubName
output EVENTHUB_CONSUMER_GROUP string = eventHubs.outputs.consumerGroupName
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output CAPTURE_CONTAINER_URL string = '${storage.outputs.blobServiceUri}${storage.outputs.captureContainerName}'
