// Event Hubs namespace (Standard), the usage-events hub and Squall's consumer group.
// Shared access keys are disabled: senders and the Function App authenticate with Entra ID.
// Capture (on by default) archives every event as Avro into the storage account's `capture`
// container, writing with the app's user-assigned identity (the account has shared keys off):
// https://learn.microsoft.com/azure/event-hubs/event-hubs-capture-managed-identity

@description('Name of the Event Hubs namespace.')
@minLength(6)
@maxLength(50)
param name string

@description('Azure region of the namespace.')
param location string

@description('Tags applied to the namespace.')
param tags object = {}

@description('Name of the event hub the usage events arrive on.')
@minLength(1)
@maxLength(256)
param eventHubName string

@description('Partitions of the hub (Standard tier allows at most 32). Senders use the entity key as partition key.')
@minValue(1)
@maxValue(32)
param partitionCount int

@description('Days the hub retains events (Standard tier allows at most 7).')
@minValue(1)
@maxValue(7)
param messageRetentionInDays int

@description('Throughput units of the Standard namespace.')
@minValue(1)
@maxValue(40)
param capacity int

@description('Consumer group the Function App reads with.')
@minLength(1)
@maxLength(50)
param consumerGroupName string

@description('Archive every event to Blob storage with Event Hubs Capture (Avro), for `squall backfill`.')
param captureEnabled bool = true

@description('Resource id of the storage account Capture writes to.')
param captureStorageAccountId string

@description('Blob container Capture writes to.')
@minLength(3)
@maxLength(63)
param captureContainerName string

@description('Resource id of the user-assigned identity Capture writes with (it needs Storage Blob Data Contributor or Owner on the account).')
param captureIdentityId string

@description('Seconds a capture window stays open before its file is written (60-900).')
@minValue(60)
@maxValue(900)
param captureIntervalSeconds int = 300

@description('Bytes a capture window may hold before its file is written (10-500 MB).')
@minValue(10485760)
@maxValue(524288000)
param captureSizeLimitBytes int = 314572800

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  // Capture authenticates to storage as this identity (no SAS: the account allows no shared keys).
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${captureIdentityId}': {}
    }
  }
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: capacity
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    isAutoInflateEnabled: false
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: eventHubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: messageRetentionInDays
    captureDescription: {
      enabled: captureEnabled
      encoding: 'Avro'
      intervalInSeconds: captureIntervalSeconds
      sizeLimitInBytes: captureSizeLimitBytes
      skipEmptyArchives: true
      destination: {
        name: 'EventHubArchive.AzureBlockBlob'
        identity: {
          type: 'UserAssigned'
          userAssignedIdentity: captureIdentityId
        }
        properties: {
          storageAccountResourceId: captureStorageAccountId
          blobContainer: captureContainerName
          // The default layout, which `squall backfill` walks.
          archiveNameFormat: '{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}'
        }
      }
    }
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
}

output namespaceName string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output eventHubName string = hub.name
output consumerGroupName string = consumerGroup.name
