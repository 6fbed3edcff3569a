// Deployed into the storage resource group: lets the master and the agents read the /srv account's
// key (listKeys, for the SMB mount) and the agents' function key in the Key Vault, and nothing else
// of either. Reader and Data Access is the narrowest built-in role with listKeys; Key Vault Secrets
// User reads secret values only. Each is scoped to its one resource. These assignments live in the
// storage group, which outlives the compute group: destroy-compute deletes them by the ids output here.
@description('The /srv storage account (in this resource group).')
param storageAccountName string

@description('The Key Vault holding the agents\' function key (in this resource group).')
param keyVaultName string

@description('Principal ids allowed to list the account\'s keys and read the vault\'s secrets (master, agents).')
param principalIds array

var readerAndDataAccess = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'c12c1c16-33a1-487b-954d-41c89c60f349')
var keyVaultSecretsUser = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')

resource account 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  // checkov:skip=NODEPOOL_AZ_1: an existing account (storage.bicep's, where the reason is given); this template does not configure it
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource listKeys 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principalId in principalIds: {
  name: guid(account.id, principalId, readerAndDataAccess)
  scope: account
  properties: {
    roleDefinitionId: readerAndDataAccess
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

resource readSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principalId in principalIds: {
  name: guid(vault.id, principalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: keyVaultSecretsUser
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

// Output loops, not map() with a lambda: a lambda variable may not index a resource collection (BCP247).
@description('Ids of the listKeys role assignments (destroy-compute deletes them).')
output listKeysAssignmentIds array = [for (principalId, i) in principalIds: listKeys[i].id]

@description('Ids of the Key Vault Secrets User role assignments (destroy-compute deletes them).')
output readSecretsAssignmentIds array = [for (principalId, i) in principalIds: readSecrets[i].id]
