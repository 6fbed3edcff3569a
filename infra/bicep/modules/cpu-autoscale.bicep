// The seed's autoscale rule, for operators who want it instead of our autoscaler (never both):
// Percentage CPU over 1-minute grains, 5-minute average; > 80 % adds one, < 10 % removes one;
// 5-minute cooldowns.
@description('Azure region.')
param location string

@description('ARM id of the scale set to scale.')
param scaleSetId string

@description('Fewest instances.')
param minimum int

@description('Most instances.')
param maximum int

@description('Instances when no metric is available.')
param default int

@description('Tags put on every resource.')
param tags object

var trigger = {
  metricName: 'Percentage CPU'
  metricNamespace: 'microsoft.compute/virtualmachinescalesets'
  metricResourceUri: scaleSetId
  timeGrain: 'PT1M'
  statistic: 'Average'
  timeWindow: 'PT5M'
  timeAggregation: 'Average'
}

resource cpu 'Microsoft.Insights/autoscalesettings@2022-10-01' = {
  name: '${last(split(scaleSetId, '/'))}-cpu'
  location: location
  tags: tags
  properties: {
    enabled: true
    targetResourceUri: scaleSetId
    profiles: [
      {
        name: 'cpu'
        capacity: {
          minimum: string(minimum)
          maximum: string(maximum)
          default: string(default)
        }
        rules: [
          {
            metricTrigger: union(trigger, { operator: 'GreaterThan', threshold: 80 })
            scaleAction: { direction: 'Increase', type: 'ChangeCount', value: '1', cooldown: 'PT5M' }
          }
          {
            metricTrigger: union(trigger, { operator: 'LessThan', threshold: 10 })
            scaleAction: { direction: 'Decrease', type: 'ChangeCount', value: '1', cooldown: 'PT5M' }
          }
        ]
      }
    ]
  }
}
