// Cosmos DB for NoSQL: account (keys disabled), database `squall`, its four containers and the
// leases of the outbox change feed (docs/performance.md, "Store layout and cost"). Capacity is serverless or autoscale (shared database throughput).

@description('Name of the Cosmos DB account (lowercase letters, digits and hyphens).')
@minLength(3)
@maxLength(44)
param accountName string

@description('Azure region of the account.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Name of the SQL database.')
@minLength(1)
@maxLength(255)
param databaseName string

@description('`serverless` (pay per request) or `autoscale` (provisioned, shared by the containers).')
@allowed([
  'serverless'
  'autoscale'
])
param capacityMode string

@description('Autoscale ceiling in RU/s for the database; ignored when serverless.')
@minValue(1000)
@maxValue(1000000)
param autoscaleMaxThroughput int

@description('Seconds the `dedupe` container keeps the keys of dead-lettered messages.')
@minValue(60)
@maxValue(2147483647)
param dedupeTtlSeconds int

var isServerless = capacityMode == 'serverless'
var serverlessCapabilities = [
  {
    name: 'EnableServerless'
  }
]
var autoscaleOptions = {
  autoscaleSettings: {
    maxThroughput: autoscaleMaxThroughput
  }
}

// Paths that are stored but never filtered on: indexing them only costs RUs on every write.
var systemExcludedPaths = [
  {
    path: '/"_etag"/?'
  }
]

var containers = [
  {
    name: 'rules'
    partitionKey: '/ruleset'
    defaultTtl: null
    includedPaths: [
      {
        path: '/*'
      }
    ]
    excludedPaths: systemExcludedPaths
  }
  {
    // Only the due-deadline query filters this container (type, due_at): index just those.
    name: 'state'
    partitionKey: '/entity'
    defaultTtl: null
    includedPaths: [
      {
        path: '/type/?'
      }
      {
        path: '/due_at/?'
      }
    ]
    excludedPaths: [
      {
        path: '/*'
      }
    ]
  }
  {
    // One document per batch; its change feed drives delivery. Tombstones set their own ttl.
    name: 'outbox'
    partitionKey: '/id'
    defaultTtl: -1
    includedPaths: [
      {
        path: '/status/?'
      }
      {
        path: '/created_at/?'
      }
    ]
    excludedPaths: [
      {
        path: '/*'
      }
    ]
  }
  {
    // The change-feed trigger's leases (the Functions extension requires partition key /id).
    name: 'leases'
    partitionKey: '/id'
    defaultTtl: null
    includedPaths: [
      {
        path: '/*'
      }
    ]
    excludedPaths: systemExcludedPaths
  }
  {
    name: 'dedupe'
    partitionKey: '/key'
    defaultTtl: dedupeTtlSeconds
    includedPaths: [
      {
        path: '/key/?'
      }
    ]
    excludedPaths: [
      {
        path: '/*'
      }
    ]
  }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  //checkov:skip=CKV_AZURE_99: public endpoint needed: the Flex Consumption app has no VNet integration in this template; keys are disabled, Entra ID only
  //checkov:skip=CKV_AZURE_101: public endpoint needed: the Flex Consumption app has no VNet integration in this template; keys are disabled, Entra ID only
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: isServerless ? serverlessCapabilities : []
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: isServerless ? {} : autoscaleOptions
  }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for container in containers: {
    parent: database
    name: container.name
    properties: {
      resource: {
        id: container.name
        partitionKey: {
          paths: [
            container.partitionKey
          ]
          kind: 'Hash'
          version: 2
        }
        defaultTtl: container.defaultTtl
        indexingPolicy: {
          indexingMode: 'consistent'
          automatic: true
          includedPaths: container.includedPaths
          excludedPaths: container.excludedPaths
        }
      }
    }
  }
]

output accountName string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
output rulesContainerName string = sqlContainers[0].name
output stateContainerName string = sqlContainers[1].name
output dedupeContainerName string = sqlContainers[4].name
output outboxContainerName string = sqlContainers[2].name
output leasesContainerName string = sqlContainers[3].name
