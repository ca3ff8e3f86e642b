// Storage account for the Functions host (AzureWebJobsStorage: Event Hubs checkpoints, timer
// locks), the Flex Consumption deployment package, Squall's dead letters and the Event Hubs
// Capture archive. Shared keys are
// disabled: every client uses the managed identity (Storage Blob Data Owner in rbac.bicep).

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Blob container the Flex Consumption app is deployed from.')
@minLength(3)
@maxLength(63)
param deploymentContainerName string

@description('Blob container for dead letters (original bytes + reason).')
@minLength(3)
@maxLength(63)
param deadLetterContainerName string

@description('Blob container Event Hubs Capture writes the Avro archive to.')
@minLength(3)
@maxLength(63)
param captureContainerName string

@description('Days captured Avro files are kept before a lifecycle rule deletes them.')
@minValue(1)
@maxValue(3650)
param captureRetentionDays int = 30

@description('Replication of the account; choose Standard_GZRS where the region offers it to keep dead letters through a regional outage.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Days a deleted blob or container can be restored.')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int = 7

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35: public endpoint needed: the Flex Consumption app has no VNet integration in this template; shared keys are disabled, Entra ID only
  //checkov:skip=CKV_AZURE_59: public endpoint needed: the Flex Consumption app has no VNet integration in this template; blob public access and shared keys are disabled
  //checkov:skip=CKV_AZURE_206: the SKU is the skuName parameter; LRS is the default because ZRS/GZRS are not offered in every Flex Consumption region
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource captureContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: captureContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Capture writes ~1 KB per event for ever: delete files older than captureRetentionDays.
resource captureLifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-capture'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${captureContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: captureRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

output name string = account.name
output id string = account.id
output blobServiceUri string = account.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
output deadLetterContainerName string = deadLetterContainer.name
output captureContainerName string = captureContainer.name
