// master0: Ubuntu LTS, static private address (the k3s API the Function App reaches over the VNet),
// a public address for SSH on sshPort, the master's user-assigned identity, customData = cloud-init.

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param prefix string

@description('VM size (MASTER_SKU).')
param vmSize string

@description('Admin user (ADMIN_USERNAME).')
param adminUsername string

@description('OpenSSH public key of the admin user (from `tasks.py keys`).')
param adminPublicKey string

@description('Rendered master cloud-init (plain text; base64-encoded here).')
@secure()
param customData string

@description('Subnet of the nodes.')
param subnetId string

@description('Private address of master0 inside the nodes subnet.')
param privateIp string

@description('ARM id of the master\'s user-assigned identity.')
param identityId string

@description('OS disk size, GiB (the seed\'s smallest: 32).')
param osDiskSizeGB int

@description('Tags put on every resource.')
param tags object

resource publicIp 'Microsoft.Network/publicIPAddresses@2026-03-01' = {
  name: '${prefix}-master0-ip'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
    dnsSettings: {
      domainNameLabel: toLower('${prefix}-${uniqueString(resourceGroup().id)}')
    }
  }
}

resource nic 'Microsoft.Network/networkInterfaces@2026-03-01' = {
  name: '${prefix}-master0-nic'
  location: location
  tags: tags
  properties: {
    ipConfigurations: [
      {
        name: 'ipconfig'
        properties: {
          privateIPAllocationMethod: 'Static'
          privateIPAddress: privateIp
          subnet: {
            id: subnetId
          }
          publicIPAddress: {
            id: publicIp.id
          }
        }
      }
    ]
  }
}

resource master 'Microsoft.Compute/virtualMachines@2026-04-01' = {
  // checkov:skip=CKV_AZURE_97: encryption at host needs the EncryptionAtHost feature registered per subscription; the OS disk is encrypted at rest by the platform
  // checkov:skip=CKV_AZURE_151: a Windows-only check (Azure Disk Encryption for Windows); master0 is Linux
  name: 'master0'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    hardwareProfile: {
      vmSize: vmSize
    }
    osProfile: {
      computerName: 'master0'
      adminUsername: adminUsername
      customData: base64(customData)
      allowExtensionOperations: false
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
        diskSizeGB: osDiskSizeGB
        managedDisk: {
          storageAccountType: 'Standard_LRS'
        }
        deleteOption: 'Delete'
      }
    }
    networkProfile: {
      networkInterfaces: [
        {
          id: nic.id
          properties: {
            deleteOption: 'Delete'
          }
        }
      ]
    }
    diagnosticsProfile: {
      bootDiagnostics: {
        enabled: true
      }
    }
  }
}

@description('Private address of the k3s API server.')
output privateIp string = privateIp

@description('vmId of the master VM: the app binds POST /api/cluster to its attested document.')
output vmId string = master.properties.vmId

@description('Public DNS name for SSH.')
output fqdn string = publicIp.properties.dnsSettings.fqdn
