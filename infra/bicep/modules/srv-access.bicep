// Deployed into the storage resource group: lets the master and the agents read the /srv account's
// key (listKeys, for the SMB mount) and nothing else of it. Reader and Data Access is the
// narrowest built-in role with listKeys; it is scoped to this one account.
@description('The /srv storage account (in this resource group).')
param storageAccountName string

@description('Principal ids allowed to list its keys (master, agents).')
param principalIds array

var readerAndDataAccess = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'c12c1c16-33a1-487b-954d-41c89c60f349')

resource account 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  // checkov:skip=NODEPOOL_AZ_1: an existing account (storage.bicep's, where the reason is given); this template does not configure it
  name: storageAccountName
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
