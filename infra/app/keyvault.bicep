// Key Vault (RBAC authorization, no access policies) holding the Marketing Cloud client secret and
// the webhook signing secrets. The Function App reads both through Key Vault references resolved
// with its user-assigned identity.

@description('Name of the Key Vault (3-24 letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags object = {}

@description('Name of the secret that holds the Marketing Cloud client secret.')
@minLength(1)
@maxLength(127)
param sfmcClientSecretName string

@description('Marketing Cloud installed-package client secret. Stored in the vault, never in app settings or outputs.')
@secure()
@minLength(1)
param sfmcClientSecret string

@description('Name of the secret that holds the webhook signing secrets (a JSON object by webhook name).')
@minLength(1)
@maxLength(127)
param webhookSecretsName string

@description('Webhook signing secrets, a JSON object by webhook name (`{}` for none). Stored in the vault, never in app settings or outputs.')
@secure()
@minLength(2)
param webhookSecrets string

@description('Days a deleted vault or secret can be recovered.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  //checkov:skip=CKV_AZURE_109: public endpoint needed: the Flex Consumption app has no VNet integration in this template, and Key Vault references are resolved over the public endpoint; RBAC only
  //checkov:skip=CKV_AZURE_189: public endpoint needed: the Flex Consumption app has no VNet integration in this template, and Key Vault references are resolved over the public endpoint; RBAC only
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource sfmcClientSecretEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  //checkov:skip=CKV_AZURE_41: the secret's lifetime is set by the Marketing Cloud installed package; an expiry here would stop delivery silently. Rotate by redeploying with the new secret
  parent: vault
  name: sfmcClientSecretName
  properties: {
    value: sfmcClientSecret
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}

resource webhookSecretsEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  //checkov:skip=CKV_AZURE_41: the signing secrets are shared with each webhook receiver and rotated with it; an expiry here would stop delivery silently. Rotate by redeploying with the new secrets
  parent: vault
  name: webhookSecretsName
  properties: {
    value: webhookSecrets
    contentType: 'application/json'
    attributes: {
      enabled: true
    }
  }
}

output name string = vault.name
// The secret's URI without a version: the reference follows rotations. It is an address, not a value.
output sfmcClientSecretUri string = sfmcClientSecretEntry.properties.secretUri
// Same for the webhook signing secrets (SQUALL_WEBHOOK_SECRETS).
output webhookSecretsUri string = webhookSecretsEntry.properties.secretUri
