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
// Only an alarm that cannot be found or used is an error; every other
// failure becomes a coverage entry saying what is missing and why, and the
// investigation goes on with the rest.
package collect
