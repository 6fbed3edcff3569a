// The `<name>-storage` resource group: what survives destroy-compute.
// One storage account with the Azure Files shares mounted at /srv and used by the private registry,
// and the Key Vault (RBAC, no access policies) holding the agents' function key: `tasks.py publish`
// writes it there through ARM, the VMs read it with their identities (Key Vault Secrets User,
// granted by compute.bicep). The vault lives here because a deleted vault keeps its name for its
// soft-delete retention: in the compute group, every destroy-compute and redeploy would collide with it.
// Nodes mount /srv over SMB with the account key, which they fetch at boot with their managed
// identity (listKeys); no key is ever placed in a parameter or in customData.
targetScope = 'resourceGroup'

@description('Azure region of the account (defaults to the resource group\'s).')
param location string = resourceGroup().location

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Share mounted at /srv on every node (SHARE_NAME).')
param shareName string = 'srv'

@description('Share holding the private registry\'s blobs.')
param registryShareName string = 'registry'

@description('Quota of each share, GiB.')
@minValue(1)
param shareQuotaGiB int = 100

@description('Key Vault name: 3-24 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Tags put on every resource.')
param tags object = {}

resource account 'Microsoft.Storage/storageAccounts@2026-09-01' = {
  // checkov:skip=NODEPOOL_AZ_1: SMB mounts of Azure Files authenticate with the account key (no AD DS for Linux nodes); the key is fetched at boot by listKeys, never stored in parameters
  // checkov:skip=CKV_AZURE_35: the nodes mount /srv over the public endpoint: this account outlives the compute VNet, so no VNet rule or private endpoint can stay valid
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35; access still needs the account key over SMB 3.1.1 with encryption
  // checkov:skip=CKV_AZURE_206: LRS like the seed: a dev cluster's scratch and registry data, not a system of record
  // checkov:skip=CKV_AZURE_43: the name is a parameter (checked by @minLength/@maxLength and by ARM); checkov cannot evaluate it
  name: storageAccountName
  location: location
  tags: tags
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // SMB mounts of Azure Files authenticate with the account key (no AD DS here), so shared keys
    // stay on for this account only; the Function App's account (compute) has them off.
    allowSharedKeyAccess: true
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        file: {
          enabled: true
          keyType: 'Account'
        }
        blob: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource files 'Microsoft.Storage/storageAccounts/fileServices@2026-09-01' = {
  parent: account
  name: 'default'
  properties: {
    shareDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource srv 'Microsoft.Storage/storageAccounts/fileServices/shares@2026-09-01' = {
  parent: files
  name: shareName
  properties: {
    shareQuota: shareQuotaGiB
    enabledProtocols: 'SMB'
  }
}

resource registry 'Microsoft.Storage/storageAccounts/fileServices/shares@2026-09-01' = {
  parent: files
  name: registryShareName
  properties: {
    shareQuota: shareQuotaGiB
    enabledProtocols: 'SMB'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  // checkov:skip=CKV_AZURE_109: the VMs reach the vault through the NAT gateway's address, which changes with every compute deployment; access is Entra RBAC only (no access policies, no keys)
  // checkov:skip=CKV_AZURE_110: purge protection would keep the name for 7-90 days after destroy-storage and cannot be turned off; the one secret is re-written by every publish
  // checkov:skip=CKV_AZURE_42: soft delete is on (7 days); recoverability beyond that is purge protection (CKV_AZURE_110)
  // checkov:skip=CKV_AZURE_189: the VMs reach the vault over its public endpoint through the NAT gateway (no private endpoint can outlive destroy-compute); Entra RBAC only
  // checkov:skip=CKV2_AZURE_32: a private endpoint would need a VNet that outlives destroy-compute; access is Entra RBAC only
  name: keyVaultName
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
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

@description('ARM id of the account (STORAGE_ACCOUNT_ID in cloud-init).')
output storageAccountId string = account.id

@description('Account name.')
output storageAccountName string = account.name

@description('Resource group of the account.')
output storageAccountGroup string = resourceGroup().name

@description('Share mounted at /srv.')
output shareName string = srv.name

@description('Share of the private registry.')
output registryShareName string = registry.name

@description('Key Vault holding the agents\' function key.')
output keyVaultName string = vault.name

@description('Key Vault URI (FUNCTION_KEY_SECRET_URI is this plus secrets/agent-function-key).')
output keyVaultUri string = vault.properties.vaultUri
