// The control plane: a Function App on Flex Consumption (the official quickstart's shape), its own
// storage account with shared keys off (host storage, tables, queues and the deployment package, all
// through the app's user-assigned identity), Application Insights with local auth off, and VNet
// integration so it reaches the k3s API on the master's private address.

@description('Azure region.')
param location string

@description('Function App name (its host name is NAME.azurewebsites.net).')
param name string

@description('Storage account of the app: 3-24 lowercase letters and digits.')
param storageAccountName string

@description('ARM id of the app\'s user-assigned identity.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Principal id of that identity.')
param identityPrincipalId string

@description('Subnet delegated to Microsoft.App/environments.')
param subnetId string

@description('Flex Consumption instance memory, MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Most instances Flex Consumption may scale out to (Flex accepts 40 to 1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('The app\'s own settings (NODEPOOL_*); storage and monitoring settings are added here.')
param settings object

@description('Tags put on every resource.')
param tags object

var deploymentContainer = 'app-package'

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' = {
  // checkov:skip=CKV_AZURE_35: publish uploads the package from the operator's machine and Flex reads it at scale-out; access is Entra-only (shared keys off)
  // checkov:skip=CKV_AZURE_206: LRS: the registry tables are rebuilt by reconcile from ARM and Kubernetes if the account is lost
  // checkov:skip=CKV_AZURE_43: the name is a parameter (checked by @maxLength and by ARM); checkov cannot evaluate it
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
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2026-09-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource package 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-09-01' = {
  parent: blobs
  name: deploymentContainer
  properties: {
    publicAccess: 'None'
  }
}

// Storage Blob Data Owner, Queue Data Contributor, Table Data Contributor: what the Functions host
// (leases, timers, the deployment package) and our tables and queues need, on this account only.
var dataRoles = [
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
]

resource data 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in dataRoles: {
  name: guid(storage.id, identityPrincipalId, role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource logs 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: '${name}-logs'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-insights'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

var metricsPublisher = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')

resource publishes 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identityPrincipalId, metricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: metricsPublisher
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource plan 'Microsoft.Web/serverfarms@2025-05-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption needs always-ready instances; this control plane scales to zero by design
  name: '${name}-plan'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

var hostSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  AZURE_CLIENT_ID: identityClientId
  PYTHON_THREADPOOL_THREAD_COUNT: '32'
}

resource app 'Microsoft.Web/sites@2025-05-01' = {
  // checkov:skip=CKV_AZURE_222: agents and the master call the API over its public HTTPS endpoint; every call carries a function key and a managed-identity JWT
  // checkov:skip=CKV_AZURE_17: callers authenticate with managed-identity JWTs validated in code, not client certificates
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales out on demand; a minimum instance count would only add cost
  // checkov:skip=CKV_AZURE_213: Flex Consumption has no App Service health check; GET /api/healthz serves that purpose for operators
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: subnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
  dependsOn: [
    data
    publishes
  ]
}

// A child `config` named appsettings, as the official Flex quickstart writes them: hostSettings holds
// values known only at run time (the account's endpoints, the connection string), which a
// for-expression over siteConfig.appSettings may not iterate (BCP178).
resource appSettings 'Microsoft.Web/sites/config@2025-05-01' = {
  // checkov:skip=CKV_AZURE_66: checkov reads this `appsettings` dictionary as a site's siteConfig; it holds app settings only (the site's own config is on resource app)
  // checkov:skip=CKV_AZURE_63: checkov reads this `appsettings` dictionary as a site's siteConfig; it holds app settings only (the site's own config is on resource app)
  // checkov:skip=CKV_AZURE_222: checkov reads this `appsettings` dictionary as a site's siteConfig; it holds app settings only (the site's own config is on resource app)
  // checkov:skip=CKV_AZURE_80: checkov reads this `appsettings` dictionary as a site's siteConfig; it holds app settings only (the site's own config is on resource app)
  // checkov:skip=CKV_AZURE_13: checkov reads this `appsettings` dictionary as a site's siteConfig; it holds app settings only (the site's own config is on resource app)
  // checkov:skip=CKV_AZURE_88: checkov reads this `appsettings` dictionary as a site's siteConfig; it holds app settings only (the site's own config is on resource app)
  // checkov:skip=CKV_AZURE_65: checkov reads this `appsettings` dictionary as a site's siteConfig; it holds app settings only (the site's own config is on resource app)
  parent: app
  name: 'appsettings'
  properties: union(settings, hostSettings)
}

@description('Host name of the app.')
output hostName string = app.properties.defaultHostName

@description('Base URL (FUNCTION_APP_URL in cloud-init).')
output url string = 'https://${app.properties.defaultHostName}'

@description('Application Insights resource id (tail-logs queries it).')
output insightsId string = insights.id

@description('Log Analytics workspace id (tail-logs queries it).')
output workspaceId string = logs.properties.customerId
