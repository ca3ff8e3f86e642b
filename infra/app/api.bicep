// Flex Consumption plan and the Python 3.13 Function App. `squallSettings` sets every setting of
// shared/settings.py; `hostSettings` wires the Functions host's identity-based connections to the
// user-assigned identity. No key or connection string anywhere: the two secrets (SFMC_CLIENT_SECRET,
// SQUALL_WEBHOOK_SECRETS) are Key Vault references.

@description('Name of the Function App.')
@minLength(2)
@maxLength(60)
param name string

@description('Name of the Flex Consumption plan.')
@minLength(1)
@maxLength(60)
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app (the app also gets azd-service-name).')
param tags object = {}

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of the user-assigned identity (selects it for identity-based connections).')
param identityClientId string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Blob service URI of the storage account (host storage, deployment package, dead letters).')
param blobServiceUri string

@description('Blob container the Flex Consumption app is deployed from.')
param deploymentContainerName string

@description('Maximum instances the app scales out to (Flex Consumption allows 40-1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance in MB (Flex Consumption sizes).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Host name of the Event Hubs namespace (<name>.servicebus.windows.net).')
param eventHubFullyQualifiedNamespace string

@description('Name of the event hub the usage events arrive on.')
param eventHubName string

@description('Consumer group the app reads with.')
param eventHubConsumerGroup string

@description('Cosmos DB account endpoint (https://<account>.documents.azure.com:443/).')
param cosmosEndpoint string

@description('Cosmos DB database name.')
param cosmosDatabaseName string

@description('Cosmos DB container of rule sets (partition key /ruleset).')
param cosmosRulesContainerName string

@description('Cosmos DB container of entity state (partition key /entity).')
param cosmosStateContainerName string

@description('Cosmos DB container of outbox documents, one per batch (partition key /id, TTL on).')
param cosmosOutboxContainerName string

@description('Cosmos DB lease container of the outbox change-feed trigger (partition key /id).')
param cosmosLeasesContainerName string

@description('Seconds a settled outbox document keeps its action keys (at least the Event Hubs retention).')
@minValue(60)
param outboxTombstoneTtlSeconds int

@description('Cosmos DB container of remembered keys of dead-lettered messages (partition key /key, TTL on).')
param cosmosDedupeContainerName string

@description('Blob container for dead letters.')
param deadLetterContainerName string

@description('Versionless URI of the Key Vault secret holding the Marketing Cloud client secret.')
param sfmcClientSecretUri string

@description('Marketing Cloud tenant auth base URL.')
param sfmcAuthBaseUrl string

@description('Marketing Cloud tenant REST base URL.')
param sfmcRestBaseUrl string

@description('Marketing Cloud installed-package client id.')
param sfmcClientId string

@description('Marketing Cloud business unit MID; empty for the package default.')
param sfmcAccountId string

@description('Journey entries one per call (sync) or up to 100 per async batch call (async).')
@allowed([
  'sync'
  'async'
])
param sfmcJourneyEntryMode string

@description('JSON object of webhook destinations by name (no secrets); may be empty.')
param webhooks string

@description('Versionless URI of the Key Vault secret holding the webhook signing secrets (a JSON object).')
param webhookSecretsUri string

@description('JSON object of EventBridge destinations by name (no credentials); may be empty.')
param eventbridge string

@description('Name of the rule set to run.')
param ruleset string

@description('Format of incoming events.')
param eventFormat string

@description('For plain JSON events: JSON object mapping canonical fields to source field paths; may be empty.')
param jsonFieldMap string

@description('Seconds processed event ids and delivered action keys are remembered.')
param dedupeTtlSeconds int

@description('How far an event time may be ahead of its enqueued time: seconds or an ISO 8601 duration.')
param maxClockSkew string

@description('Maximum event age behind its enqueued time: seconds or an ISO 8601 duration; empty for no limit.')
param maxEventAge string

@description('How the delivery audit log names an entity: hash or key.')
param auditEntity string

// Every setting of shared/settings.py, by its env var name, except COSMOS_KEY and
// DEADLETTER_CONNECTION_STRING (local emulators only: in Azure the identity is used). tests/infra/test_settings_contract.py fails when this object, the
// Settings model, local.settings.json.example and the README table drift apart.
var squallSettings = [
  { name: 'EVENTHUB__fullyQualifiedNamespace', value: eventHubFullyQualifiedNamespace }
  { name: 'EVENTHUB_NAME', value: eventHubName }
  { name: 'EVENTHUB_CONSUMER_GROUP', value: eventHubConsumerGroup }
  { name: 'SQUALL_STORE', value: 'cosmos' }
  { name: 'SQUALL_RULESET', value: ruleset }
  { name: 'SQUALL_EVENT_FORMAT', value: eventFormat }
  { name: 'SQUALL_JSON_FIELD_MAP', value: jsonFieldMap }
  { name: 'SQUALL_DEDUPE_TTL_S', value: string(dedupeTtlSeconds) }
  { name: 'SQUALL_MAX_CLOCK_SKEW', value: maxClockSkew }
  { name: 'SQUALL_MAX_EVENT_AGE', value: maxEventAge }
  { name: 'SQUALL_AUDIT_ENTITY', value: auditEntity }
  { name: 'COSMOS_ENDPOINT', value: cosmosEndpoint }
  { name: 'COSMOS_DATABASE', value: cosmosDatabaseName }
  { name: 'COSMOS_RULES_CONTAINER', value: cosmosRulesContainerName }
  { name: 'COSMOS_STATE_CONTAINER', value: cosmosStateContainerName }
  { name: 'COSMOS_DEDUPE_CONTAINER', value: cosmosDedupeContainerName }
  { name: 'COSMOS_OUTBOX_CONTAINER', value: cosmosOutboxContainerName }
  { name: 'COSMOS_LEASES_CONTAINER', value: cosmosLeasesContainerName }
  { name: 'SQUALL_OUTBOX_TOMBSTONE_TTL_S', value: string(outboxTombstoneTtlSeconds) }
  // Bicep owns the database and containers; the app never creates them in Azure.
  { name: 'COSMOS_CREATE_CONTAINERS', value: 'false' }
  { name: 'DEADLETTER__blobServiceUri', value: blobServiceUri }
  { name: 'DEADLETTER_CONTAINER', value: deadLetterContainerName }
  { name: 'SFMC_AUTH_BASE_URL', value: sfmcAuthBaseUrl }
  { name: 'SFMC_REST_BASE_URL', value: sfmcRestBaseUrl }
  { name: 'SFMC_CLIENT_ID', value: sfmcClientId }
  { name: 'SFMC_CLIENT_SECRET', value: '@Microsoft.KeyVault(SecretUri=${sfmcClientSecretUri})' }
  { name: 'SFMC_ACCOUNT_ID', value: sfmcAccountId }
  { name: 'SFMC_JOURNEY_ENTRY_MODE', value: sfmcJourneyEntryMode }
  { name: 'SQUALL_WEBHOOKS', value: webhooks }
  { name: 'SQUALL_WEBHOOK_SECRETS', value: '@Microsoft.KeyVault(SecretUri=${webhookSecretsUri})' }
  { name: 'SQUALL_EVENTBRIDGE', value: eventbridge }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsights.properties.ConnectionString }
]

var hostSettings = [
  // Host storage (checkpoints, timer locks): blob only, through the user-assigned identity.
  { name: 'AzureWebJobsStorage__blobServiceUri', value: blobServiceUri }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  // Event Hubs trigger connection `EVENTHUB` (EVENTHUB__fullyQualifiedNamespace is in squallSettings).
  { name: 'EVENTHUB__credential', value: 'managedidentity' }
  { name: 'EVENTHUB__clientId', value: identityClientId }
  // Cosmos DB trigger connection `COSMOS` (the outbox change feed and its leases), by identity.
  { name: 'COSMOS__accountEndpoint', value: cosmosEndpoint }
  { name: 'COSMOS__credential', value: 'managedidentity' }
  { name: 'COSMOS__clientId', value: identityClientId }
  // Dead-letter blob connection `DEADLETTER` (DEADLETTER__blobServiceUri is in squallSettings).
  { name: 'DEADLETTER__credential', value: 'managedidentity' }
  { name: 'DEADLETTER__clientId', value: identityClientId }
  // Azure SDK clients built with DefaultAzureCredential (Cosmos, Blob) pick this identity.
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  // Application Insights with local auth disabled: publish telemetry with Entra ID.
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
]

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy is offered in a subset of regions only; the plan scales out across instances
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_222: the rules HTTP API is called from outside Azure; no VNet integration in this template
  //checkov:skip=CKV_AZURE_17: the rules HTTP API authenticates with function keys, not client certificates
  //checkov:skip=CKV_AZURE_212: Flex Consumption scales on events and to zero; there is no minimum instance count to set
  //checkov:skip=CKV_AZURE_213: health check (siteConfig.healthCheckPath) is not supported on Flex Consumption
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobServiceUri}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.13'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Set with the site, so the first start already has every setting.
      appSettings: concat(squallSettings, hostSettings)
    }
  }
}

resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
