// Event Hubs namespace (Standard), the usage-events hub and Squall's consumer group.
// Shared access keys are disabled: senders and the Function App authenticate with Entra ID.

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

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
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
