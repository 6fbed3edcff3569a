// One agent pool = one VM scale set, written directly (not the AVM module, which only produces
// Deallocate eviction and adds an HTTP :80 health probe with automatic repairs that would reimage
// k3s agents serving nothing on :80). Spot pools: evictionPolicy Delete, maxPrice -1, and no
// terminate notification (Microsoft documents it as unsupported on Spot; a Spot VM gets its
// Preempt event anyway). Uniform orchestration, Manual upgrades, no overprovisioning; our control
// plane picks what to scale in. GPU drivers come from cloud-init (NVIDIA=true), not an extension.

@description('Azure region.')
param location string

@description('Scale set name (the pool\'s name).')
param name string

@description('VM size of this pool.')
param vmSize string

@description('Spot or Regular.')
@allowed(['Spot', 'Regular'])
param priority string

@description('Instances at deployment time (later owned by the autoscaler).')
@minValue(0)
param capacity int

@description('Admin user (ADMIN_USERNAME).')
param adminUsername string

@description('OpenSSH public key of the admin user.')
param adminPublicKey string

@description('Rendered agent cloud-init (plain text; base64-encoded here).')
@secure()
param customData string

@description('Subnet of the nodes.')
param subnetId string

@description('ARM id of the agents\' user-assigned identity.')
param identityId string

@description('OS disk size, GiB.')
param osDiskSizeGB int

@description('Tags put on every resource.')
param tags object

var spot = priority == 'Spot'

resource pool 'Microsoft.Compute/virtualMachineScaleSets@2026-04-01' = {
  // checkov:skip=CKV_AZURE_95: automatic OS image upgrades would reimage agents outside the control plane's drain path; spot agents are short-lived and patched by unattended-upgrades
  // checkov:skip=CKV_AZURE_97: encryption at host needs the EncryptionAtHost feature registered per subscription; the OS disk is encrypted at rest by the platform
  name: name
  location: location
  tags: union(tags, { 'nodepool.pool': name })
  sku: {
    name: vmSize
    tier: 'Standard'
    capacity: capacity
  }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    orchestrationMode: 'Uniform'
    overprovision: false
    singlePlacementGroup: false
    upgradePolicy: {
      mode: 'Manual'
    }
    scaleInPolicy: {
      rules: ['NewestVM']
      forceDeletion: false
    }
    virtualMachineProfile: {
      priority: priority
      evictionPolicy: spot ? 'Delete' : null
      billingProfile: spot ? { maxPrice: -1 } : null
      osProfile: {
        computerNamePrefix: name
        adminUsername: adminUsername
        customData: base64(customData)
        linuxConfiguration: {
          disablePasswordAuthentication: true
          ssh: {
            publicKeys: [
              {
                path: '/home/${adminUsername}/.ssh/authorized_keys'
                keyData: adminPublicKey
              }
            ]
          }
          provisionVMAgent: true
        }
      }
      storageProfile: {
        imageReference: {
          publisher: 'Canonical'
          offer: 'ubuntu-24_04-lts'
          sku: 'server'
          version: 'latest'
        }
        osDisk: {
          createOption: 'FromImage'
          caching: 'ReadOnly'
          diskSizeGB: osDiskSizeGB
          managedDisk: {
            storageAccountType: 'Standard_LRS'
          }
        }
      }
      networkProfile: {
        networkInterfaceConfigurations: [
          {
            name: 'nic'
            properties: {
              primary: true
              ipConfigurations: [
                {
                  name: 'ipconfig'
                  properties: {
                    subnet: {
                      id: subnetId
                    }
                  }
                }
              ]
            }
          }
        ]
      }
      diagnosticsProfile: {
        bootDiagnostics: {
          enabled: true
        }
      }
      scheduledEventsProfile: spot ? null : {
        terminateNotificationProfile: {
          enable: true
          notBeforeTimeout: 'PT5M'
        }
      }
    }
  }
}

@description('ARM id of the scale set.')
output id string = pool.id

@description('Name of the scale set.')
output name string = pool.name

@description('Principal id of the Function App\'s identity, which manages this pool.')
param managerPrincipalId string

// Virtual Machine Contributor, on this scale set only: capacity, instance delete/reimage, protection.
var vmContributor = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '9980e02c-c2be-4d73-94e8-173b1dc7cf3c')

resource manages 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(pool.id, managerPrincipalId, vmContributor)
  scope: pool
  properties: {
    roleDefinitionId: vmContributor
    principalId: managerPrincipalId
    principalType: 'ServicePrincipal'
  }
}
