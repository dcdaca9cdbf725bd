// Package collect gathers the evidence for one alarm through narrow AWS
// client interfaces (clients.go): the real SDK clients in a live run, the
// bundle package's replay clients offline, so both go through this code.
//
// The walk: the alarm and its state history give the episode and the
// breach start; the alarm's dimensions lead to the VPN connection, its
// tunnels, the customer gateway and — when the gateway is an EC2 appliance —
// its Elastic IP, ENI, instance, security groups, subnet, route table,
// network ACL and Auto Scaling group, and on the AWS side the Transit
// Gateway (or VGW), its attachments and route tables. Then, concurrently,
// CloudTrail's mutating events, the path's metrics and the flow logs of the
// path's ENIs are read over the window around the breach.
//
// Flow logs come from CloudWatch Logs or from the objects delivered to S3
// (s3flows.go: every core reads whole objects); large volumes are
// aggregated server-side instead, by Logs Insights (insights.go) or Athena
// (athena.go, which also reads CloudTrail's S3 copy when LookupEvents would
// take many pages), with results indistinguishable from reading the
// records here.
//
// Only an alarm that cannot be found or used is an error; every other
// failure becomes a coverage entry saying what is missing and why, and the
// investigation goes on with the rest.
package collect
