// User-assigned identities: one for the master, one shared by the agents, one for the Function App.

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param prefix string

@description('Tags put on every resource.')
param tags object

resource master 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: '${prefix}-master-id'
  location: location
  tags: tags
}

resource agent 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: '${prefix}-agent-id'
  location: location
  tags: tags
}

resource app 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: '${prefix}-app-id'
  location: location
  tags: tags
}

@description('ARM ids: master, agent, app.')
output ids object = { master: master.id, agent: agent.id, app: app.id }

@description('Client ids (what a VM asks IMDS for tokens with).')
output clientIds object = { master: master.properties.clientId, agent: agent.properties.clientId, app: app.properties.clientId }

@description('Principal (object) ids: the oid claim of their tokens, and what roles are granted to.')
output principalIds object = {
  master: master.properties.principalId
  agent: agent.properties.principalId
  app: app.properties.principalId
}
