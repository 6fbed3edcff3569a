// The Entra application whose App ID URI (api://TENANT/nodepool-PREFIX: one per cluster, and of the
// `api://{tenantId}/{string}` form the tenant policy Microsoft enabled in 2025 accepts) is the
// audience agents and the master request identity tokens for: a token minted for ARM or anything
// else is refused, and a leaked token for this audience is useless elsewhere. Needs the right to
// register applications (Application Developer, or users allowed to) for whoever deploys. The app
// still validates every JWT in code.
extension microsoftGraphV1

@description('App ID URI: the token audience (NODEPOOL_AUDIENCE).')
param audience string

@description('Unique name of the application (idempotent redeploys).')
param uniqueName string

@description('Display name in Entra ID.')
param displayName string

resource api 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [audience]
}

resource principal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: api.appId
}

@description('Application (client) id of the audience.')
output appId string = api.appId
