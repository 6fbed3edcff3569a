// VNet with a subnet for the nodes and one for the Function App's VNet integration (delegated to
// Microsoft.App/environments, as Flex Consumption requires), and their NSGs: SSH on sshPort from
// the allowed ranges only, HTTP/S from Cloudflare's origin ranges when asked, nothing else inbound.
// Outbound: subnets are private by default from Network API 2025-07-01 on (defaultOutboundAccess
// false), so both subnets leave through a NAT gateway, Microsoft's recommended explicit method:
// apt, the k3s download, ARM, Key Vault, Azure Files, the app's public URL and the Microsoft and
// DigiCert PKI hosts (attestation chains) are all public endpoints.

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param prefix string

@description('TCP port sshd listens on (SSH_PORT).')
param sshPort int

@description('Address ranges allowed to reach SSH on the master (APPLY_ORIGIN_NSG narrows this to the operator).')
param sshSourceRanges array

@description('Allow HTTP/S to the master from Cloudflare origin ranges only (APPLY_CLOUDFLARE_NSG).')
param applyCloudflareNsg bool

@description('Cloudflare\'s published IPv4 ranges, used when applyCloudflareNsg is true.')
param cloudflareRanges array

@description('Tags put on every resource.')
param tags object

var nodeRules = [
  {
    name: 'ssh-from-allowed'
    properties: {
      priority: 100
      direction: 'Inbound'
      access: 'Allow'
      protocol: 'Tcp'
      sourceAddressPrefixes: sshSourceRanges
      sourcePortRange: '*'
      destinationAddressPrefix: 'VirtualNetwork'
      destinationPortRange: string(sshPort)
    }
  }
]
var cloudflareRules = applyCloudflareNsg ? [
  {
    name: 'https-from-cloudflare'
    properties: {
      priority: 110
      direction: 'Inbound'
      access: 'Allow'
      protocol: 'Tcp'
      sourceAddressPrefixes: cloudflareRanges
      sourcePortRange: '*'
      destinationAddressPrefix: 'VirtualNetwork'
      destinationPortRanges: ['80', '443']
    }
  }
] : []

resource nodesNsg 'Microsoft.Network/networkSecurityGroups@2026-03-01' = {
  name: '${prefix}-nodes-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: concat(nodeRules, cloudflareRules)
  }
}

resource appNsg 'Microsoft.Network/networkSecurityGroups@2026-03-01' = {
  name: '${prefix}-app-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource natIp 'Microsoft.Network/publicIPAddresses@2026-03-01' = {
  name: '${prefix}-nat-ip'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
  }
}

resource nat 'Microsoft.Network/natGateways@2026-03-01' = {
  name: '${prefix}-nat'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [
      {
        id: natIp.id
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2026-03-01' = {
  name: '${prefix}-vnet'
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: ['10.0.0.0/16']
    }
    subnets: [
      {
        name: 'nodes'
        properties: {
          addressPrefix: '10.0.0.0/22'
          defaultOutboundAccess: false
          natGateway: {
            id: nat.id
          }
          networkSecurityGroup: {
            id: nodesNsg.id
          }
        }
      }
      {
        name: 'app'
        properties: {
          addressPrefix: '10.0.8.0/24'
          defaultOutboundAccess: false
          natGateway: {
            id: nat.id
          }
          networkSecurityGroup: {
            id: appNsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
    ]
  }
}

@description('Subnet of the master and the agents.')
output nodesSubnetId string = '${vnet.id}/subnets/nodes'

@description('Subnet the Function App integrates with.')
output appSubnetId string = '${vnet.id}/subnets/app'

@description('The public address every node and the app leave through (allow-list it where needed).')
output outboundIp string = natIp.properties.ipAddress
