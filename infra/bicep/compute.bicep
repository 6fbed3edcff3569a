// The `<name>-compute` resource group: network, master0, one scale set per agent pool, the control
// plane (Function App on Flex Consumption), identities and least-privilege role assignments.
// Destroying this group leaves the /srv storage (storage.bicep) untouched.
targetScope = 'resourceGroup'

@description('Azure region (LOCATION).')
param location string = resourceGroup().location

@description('Prefix of resource names.')
@maxLength(12)
param prefix string = 'k3s'

@description('Tags put on every resource.')
param tags object = {}

@description('Admin user on every VM (ADMIN_USERNAME).')
param adminUsername string = 'cluster'

@description('OpenSSH public key of the admin user (written by `tasks.py keys`).')
param adminPublicKey string

@description('TCP port sshd listens on (SSH_PORT).')
param sshPort int = 22

@description('Source ranges allowed to reach SSH (the operator\'s address when APPLY_ORIGIN_NSG).')
param sshSourceRanges array

@description('Allow HTTP/S to the master from Cloudflare\'s origin ranges (APPLY_CLOUDFLARE_NSG).')
param applyCloudflareNsg bool = false

@description('Cloudflare IPv4 ranges (https://www.cloudflare.com/ips-v4).')
param cloudflareRanges array = [
  '173.245.48.0/20', '103.21.244.0/22', '103.22.200.0/22', '103.31.4.0/22', '141.101.64.0/18'
  '108.162.192.0/18', '190.93.240.0/20', '188.114.96.0/20', '197.234.240.0/22', '198.41.128.0/17'
  '162.158.0.0/15', '104.16.0.0/13', '104.24.0.0/14', '172.64.0.0/13', '131.0.72.0/22'
]

@description('Size of master0 (MASTER_SKU).')
param masterSku string = 'Standard_B2s'

@description('Size of the agents (AGENT_SKU). Spot needs a size whose LowPriorityCapable is True: never B-series.')
param agentSku string = 'Standard_D2as_v5'

@description('Agents the seed\'s CPU rule starts from (AGENT_COUNT). The pools deploy at 0 either way: a pool deployed above 0 fails the whole deployment when spot capacity or quota is missing; deploy-compute asks for AGENT_COUNT afterwards.')
@minValue(0)
param agentCount int = 2

@description('Most agents the autoscaler may run per pool.')
@minValue(1)
param agentMax int = 10

@description('Priority of the first pool (AGENT_PRIORITY): Spot, with a Regular fallback pool at 0.')
@allowed(['Spot', 'Regular'])
param agentPriority string = 'Spot'

@description('OS disk size of every VM, GiB (the seed\'s S4: 32).')
param osDiskSizeGB int = 32

@description('Rendered cloud-init of master0 (`tasks.py params`). Holds no secret; secure to keep it out of deployment history.')
@secure()
param masterCustomData string

@description('Rendered cloud-init of the agents (`tasks.py params`).')
@secure()
param agentCustomData string

@description('Resource group of the /srv storage account (STORAGE_ACCOUNT_GROUP or STORAGE_GROUP).')
param storageAccountGroup string

@description('The /srv storage account (STORAGE_ACCOUNT_NAME).')
param storageAccountName string

@description('Function App name.')
param functionAppName string

@description('The Function App\'s own storage account (shared keys off).')
@maxLength(24)
param appStorageAccountName string

@description('Flex Consumption instance memory, MB.')
param instanceMemoryMB int = 2048

@description('Most Flex Consumption instances (Flex accepts 40 to 1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Create the Entra application of the token audience (needs the right to register applications; false if it exists).')
param createEntraApp bool = true

@description('The storage group\'s Key Vault (storage.bicep) holding the agents\' function key, written by `tasks.py publish`.')
param keyVaultName string

@description('Who scales the pools: our control plane (nodepool) or the seed\'s CPU rule (cpu). Never both.')
@allowed(['nodepool', 'cpu'])
param autoscaler string = 'nodepool'

@description('Name of the app\'s autoscale timer function, disabled when autoscaler is cpu.')
param autoscaleFunctionName string = 'autoscale'

@description('One agent\'s allocatable cpu and memory less its DaemonSet pods\' requests (kubectl describe node): what the autoscaler packs pods onto.')
param agentAllocatable object = { cpu: '1900m', memory: '3Gi' }

@description('Extra app settings (NODEPOOL_*), e.g. NODEPOOL_DRY_RUN.')
param appSettings object = {}

// customData is rendered before the identities exist: `tasks.py params` puts these placeholders where
// the client ids and the subscription go, and they are replaced here with the real values.
var masterClientIdPlaceholder = '00000000-0000-4000-8000-00000000aa01'
var agentClientIdPlaceholder = '00000000-0000-4000-8000-00000000aa02'
var subscriptionPlaceholder = '00000000-0000-4000-8000-00000000aa03'
var tenantPlaceholder = '00000000-0000-4000-8000-00000000aa04'
// Token audience of agents, master and app, one per cluster and compliant with the tenant policy
// Microsoft enabled in 2025 (an App ID URI must hold the tenant id, the app id or a verified domain).
// `tasks.py params` writes the same URI into customData with tenantPlaceholder (ops/params.py).
var apiAudience = 'api://${tenant().tenantId}/nodepool-${prefix}'
// High in the nodes /22: Azure hands dynamic addresses from the lowest free one (.4), so a scale-set
// NIC allocated first could otherwise take the master's static address.
var masterPrivateIp = '10.0.3.250'
// Every pool deploys at capacity 0: the autoscaler (or deploy-compute, for AGENT_COUNT) grows it.
var pools = concat([
  { name: 'agents', priority: agentPriority }
], agentPriority == 'Spot' ? [{ name: 'agents-regular', priority: 'Regular' }] : [])
// The same pools for the autoscaler (NODEPOOL_AUTOSCALE_POOLS): the first preferred, the fallback next.
var autoscalePools = [for (pool, i) in pools: {
  name: pool.name
  scale_set: pool.name
  priority: toLower(pool.priority)
  vm_size: agentSku
  cpu: agentAllocatable.cpu
  memory: agentAllocatable.memory
  min: 0
  max: agentMax
  preference: i
}]

// The app's tunables at the code's defaults (nodepool/settings.py; a test keeps them equal), so an
// operator finds and changes them among the app settings; appSettings overrides any of them.
var tunables = {
  NODEPOOL_JOIN_TOKEN_TTL: '900'
  NODEPOOL_BOOTSTRAP_TOKENS: 'true'
  NODEPOOL_NODE_LABELS: ''
  NODEPOOL_NODE_TAINTS: ''
  NODEPOOL_DRAIN_MARGIN: '5.0'
  NODEPOOL_FORCE_DELETE_PODS: 'false'
  NODEPOOL_POD_GRACE: '30'
  NODEPOOL_DRAIN_WORKERS: '64'
  NODEPOOL_DRY_RUN: 'false'
  NODEPOOL_REPAIR_AFTER: '600'
  NODEPOOL_PROVISIONING_TIMEOUT: '900'
  NODEPOOL_MAX_DESTRUCTIVE_PER_TICK: '3'
  NODEPOOL_RECONCILE_SCHEDULE: '0 * * * * *'
  NODEPOOL_AUTOSCALE_SCHEDULE: '*/30 * * * * *'
  NODEPOOL_AUTOSCALE_UTILIZATION_THRESHOLD: '0.5'
  NODEPOOL_AUTOSCALE_UNNEEDED_TIME: '600'
  NODEPOOL_AUTOSCALE_DELAY_AFTER_SCALE_UP: '600'
  NODEPOOL_AUTOSCALE_MAX_STEP: '20'
  NODEPOOL_AUTOSCALE_HEADROOM_NODES: '1'
  NODEPOOL_ATTESTATION_SIGNERS: 'metadata.azure.com'
  // Where a signer's missing issuer may be fetched (its AIA URL): Microsoft's and DigiCert's PKI; needs outbound HTTP.
  NODEPOOL_ATTESTATION_AIA_HOSTS: 'www.microsoft.com,caissuers.microsoft.com,cacerts.digicert.com'
  NODEPOOL_NONCE_TTL: '120'
}

// environment() spells endpoints with a trailing slash; the app joins paths onto them itself.
var armEndpoint = environment().resourceManager
var loginEndpoint = environment().authentication.loginEndpoint

// What ties the app to this deployment: the scale sets, the identities it accepts, the audience.
var wiring = {
  AZURE_SUBSCRIPTION_ID: subscription().subscriptionId
  NODEPOOL_RESOURCE_GROUP: resourceGroup().name
  NODEPOOL_SCALE_SET: pools[0].name
  NODEPOOL_CLUSTER: prefix
  NODEPOOL_TENANT_ID: tenant().tenantId
  NODEPOOL_AUTHORITY: endsWith(loginEndpoint, '/') ? substring(loginEndpoint, 0, length(loginEndpoint) - 1) : loginEndpoint
  NODEPOOL_ARM_ENDPOINT: endsWith(armEndpoint, '/') ? substring(armEndpoint, 0, length(armEndpoint) - 1) : armEndpoint
  NODEPOOL_AUDIENCE: apiAudience
  NODEPOOL_AGENT_IDENTITY: ids.outputs.principalIds.agent
  NODEPOOL_MASTER_IDENTITY: ids.outputs.principalIds.master
  NODEPOOL_MASTER_VM_ID: master.outputs.vmId
  'AzureWebJobs.${autoscaleFunctionName}.Disabled': autoscaler == 'cpu' ? 'true' : 'false'
  NODEPOOL_AUTOSCALE_ENABLED: autoscaler == 'nodepool' ? 'true' : 'false'
  NODEPOOL_AUTOSCALE_POOLS: string(autoscalePools)
}

module ids 'modules/identities.bicep' = {
  name: 'identities'
  params: { location: location, prefix: prefix, tags: tags }
}

module network 'modules/network.bicep' = {
  name: 'network'
  params: {
    location: location
    prefix: prefix
    sshPort: sshPort
    sshSourceRanges: sshSourceRanges
    applyCloudflareNsg: applyCloudflareNsg
    cloudflareRanges: cloudflareRanges
    tags: tags
  }
}

module srvAccess 'modules/srv-access.bicep' = {
  name: 'srv-access'
  scope: resourceGroup(storageAccountGroup)
  params: {
    storageAccountName: storageAccountName
    keyVaultName: keyVaultName
    principalIds: [ids.outputs.principalIds.master, ids.outputs.principalIds.agent]
  }
}

module audience 'modules/entra-app.bicep' = if (createEntraApp) {
  name: 'entra-app'
  params: { audience: apiAudience, uniqueName: '${prefix}-nodepool-api', displayName: '${prefix} nodepool API' }
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    name: functionAppName
    storageAccountName: appStorageAccountName
    identityId: ids.outputs.ids.app
    identityClientId: ids.outputs.clientIds.app
    identityPrincipalId: ids.outputs.principalIds.app
    subnetId: network.outputs.appSubnetId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    tags: tags
    settings: union(tunables, wiring, appSettings)
  }
}

var subscriptionId = subscription().subscriptionId

module master 'modules/master.bicep' = {
  name: 'master'
  params: {
    location: location
    prefix: prefix
    vmSize: masterSku
    adminUsername: adminUsername
    adminPublicKey: adminPublicKey
    customData: replace(replace(replace(masterCustomData, masterClientIdPlaceholder, ids.outputs.clientIds.master),
      subscriptionPlaceholder, subscriptionId), tenantPlaceholder, tenant().tenantId)
    subnetId: network.outputs.nodesSubnetId
    privateIp: masterPrivateIp
    identityId: ids.outputs.ids.master
    osDiskSizeGB: osDiskSizeGB
    tags: tags
  }
  dependsOn: [srvAccess] // its first boot mounts /srv and reads the function key with these roles
}

module agents 'modules/scaleset.bicep' = [for pool in pools: {
  name: 'pool-${pool.name}'
  params: {
    location: location
    name: pool.name
    vmSize: agentSku
    priority: pool.priority
    capacity: 0
    adminUsername: adminUsername
    adminPublicKey: adminPublicKey
    customData: replace(replace(replace(agentCustomData, agentClientIdPlaceholder, ids.outputs.clientIds.agent),
      subscriptionPlaceholder, subscriptionId), tenantPlaceholder, tenant().tenantId)
    subnetId: network.outputs.nodesSubnetId
    identityId: ids.outputs.ids.agent
    osDiskSizeGB: osDiskSizeGB
    managerPrincipalId: ids.outputs.principalIds.app
    tags: tags
  }
  dependsOn: [srvAccess]
}]

module cpuAutoscale 'modules/cpu-autoscale.bicep' = if (autoscaler == 'cpu') {
  name: 'cpu-autoscale'
  params: {
    location: location
    scaleSetId: agents[0].outputs.id
    minimum: 0
    maximum: agentMax
    default: agentCount
    tags: tags
  }
}

@description('Function App name (publish, tail-logs).')
output functionAppName string = functionAppName

@description('Base URL of the control plane.')
output functionAppUrl string = app.outputs.url

@description('Public DNS name of master0 (proxy, list-endpoints).')
output masterFqdn string = master.outputs.fqdn

@description('Private address of the k3s API.')
output masterPrivateIp string = master.outputs.privateIp

@description('Scale set names, one per pool (list-agents, scale-agents ...).')
output scaleSetNames array = [for (pool, i) in pools: agents[i].outputs.name]

@description('Log Analytics workspace (customer) id, queried by tail-logs.')
output workspaceId string = app.outputs.workspaceId

@description('Token audience the app accepts.')
output apiAudience string = apiAudience

@description('Client id of the Entra application behind the audience (empty when not created here).')
output entraAppId string = createEntraApp ? audience.outputs.appId : ''

@description('Role assignments this deployment made in the storage group: destroy-compute deletes them (they would outlive their identities).')
output storageGroupAssignmentIds array = concat(srvAccess.outputs.listKeysAssignmentIds, srvAccess.outputs.readSecretsAssignmentIds)

@description('The public address the nodes and the app leave through (NAT gateway).')
output outboundIp string = network.outputs.outboundIp

@description('SSH port and user for proxy.')
output ssh object = { port: sshPort, user: adminUsername }
